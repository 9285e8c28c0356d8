// Prompt and response content (messages, completions, tool arguments and results) can be huge and
// sensitive: stored values are cut to a byte cap with a marker, or dropped for tenants that opted out.

const CONTENT_KEYS = new Set([
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.prompt',
  'gen_ai.completion',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'input.value',
  'output.value',
  'ai.prompt',
  'ai.prompt.messages',
  'ai.response.text',
  'ai.response.object',
  'ai.response.toolCalls',
  'ai.toolCall.args',
  'ai.toolCall.result',
  'traceloop.entity.input',
  'traceloop.entity.output',
]);
const CONTENT_PREFIXES = ['gen_ai.prompt.', 'gen_ai.completion.', 'llm.input_messages.', 'llm.output_messages.', 'llm.prompts.'];
/** Keys that are content only inside gen_ai.* events (gen_ai.user.message, gen_ai.choice, ...). */
const EVENT_CONTENT_KEYS = new Set(['content', 'message', 'body']);

export function isContentKey(key: string, eventName = ''): boolean {
  if (CONTENT_KEYS.has(key)) return true;
  for (const p of CONTENT_PREFIXES) if (key.startsWith(p)) return true;
  return eventName.startsWith('gen_ai.') && EVENT_CONTENT_KEYS.has(key);
}

export interface ContentPolicy {
  maxBytes: number;
  /** False for tenants whose content must not be stored at all. */
  capture: boolean;
}

export interface ContentOutcome {
  truncated: boolean;
  dropped: boolean;
}

/** Applies the policy to the content keys of `attrs`, in place. */
export function applyContentPolicy(attrs: Record<string, string>, policy: ContentPolicy, outcome: ContentOutcome, eventName = ''): void {
  for (const key of Object.keys(attrs)) {
    if (!isContentKey(key, eventName)) continue;
    if (!policy.capture) {
      delete attrs[key];
      outcome.dropped = true;
      continue;
    }
    const value = attrs[key]!;
    // Cheap pre-check: a string of n UTF-16 units is at most 3n UTF-8 bytes.
    if (value.length * 3 <= policy.maxBytes) continue;
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length <= policy.maxBytes) continue;
    // Cut on a character boundary: step back over UTF-8 continuation bytes.
    let cut = policy.maxBytes;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    attrs[key] = `${bytes.toString('utf8', 0, cut)}…[truncated ${bytes.length - cut} bytes]`;
    outcome.truncated = true;
  }
}
