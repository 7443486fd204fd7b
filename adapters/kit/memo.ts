// A string-keyed memo for word lookups: callers repeat their words, so a lookup is kept until
// `max` are held, then all are forgotten at once (bounded memory, no per-hit bookkeeping).

/** `fn`, remembering its results by key. */
export function memo<T>(fn: (key: string) => T, max = 4096): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (seen.has(key)) return seen.get(key) as T;
    const v = fn(key);
    if (seen.size >= max) seen.clear();
    seen.set(key, v);
    return v;
  };
}
