// Progress for long operations: a redrawn bar with rate and ETA on a terminal, plain log lines
// (at most one every 5 s) when stderr is not a TTY.
export class Progress {
  private readonly started = Date.now();
  private lastLine = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
  ) {}

  update(done: number, detail = ''): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 && this.total > done ? Math.ceil((this.total - done) / rate) : 0;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const text = `${this.label} ${Math.floor(fraction * 100)}% ${fmt(done)}/${fmt(this.total)} ${this.unit}  ${fmt(rate)} ${this.unit}/s  ETA ${eta}s${detail ? `  ${detail}` : ''}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(fraction * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (Date.now() - this.lastLine >= 5000) {
      this.lastLine = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }

  done(summary: string): void {
    process.stderr.write(`${this.tty ? '\r\x1b[K' : ''}${this.label}: ${summary} in ${((Date.now() - this.started) / 1000).toFixed(1)}s\n`);
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
