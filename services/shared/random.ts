// A seeded pseudo-random generator (32-bit LCG, Numerical Recipes constants): reproducible traffic
// and test data from a seed, not for anything secret.
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
