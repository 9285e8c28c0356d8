/** A configuration or usage mistake the user fixes: the CLI exits 2 with the message (which names the YAML path or variable). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
