// Direct stage for the default without Kafka: spans are normalized, batched, and
// the request is answered only after the INSERT holding its rows has committed.
import type { Batcher } from '../shared/batcher.js';
import type { NormalizedRows, Normalizer } from '../shared/normalize/rows.js';
import type { TracesData } from '../shared/otlp/model.js';
import { RetryableError } from '../shared/errors.js';
import type { TracesExporter } from './exporter.js';

export class ClickHouseDirectExporter implements TracesExporter {
  readonly name = 'clickhouse';

  constructor(
    private readonly batcher: Batcher<NormalizedRows>,
    private readonly normalizer: Normalizer,
  ) {}

  ready(): boolean {
    return true;
  }

  async export(data: TracesData): Promise<void> {
    try {
      await this.batcher.add([this.normalizer.normalize(data)]);
    } catch (err) {
      // Retryable even when ClickHouse refused the data: the batch holds other requests' rows too.
      throw new RetryableError(`clickhouse insert failed: ${(err as Error).message}`, 2, { cause: err });
    }
  }

  async shutdown(): Promise<void> {
    await this.batcher.close();
  }
}
