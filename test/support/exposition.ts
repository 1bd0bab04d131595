/** Reading Prometheus's text exposition back, for tests that hold /metrics against a model. */

/** A series' key: its name and its labels sorted by name, `name{a="1",b="2"}`. */
export function seriesKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => `${label}="${value}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** Every sample of an exposition, by {@link seriesKey}. */
export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[label!] = value!;
    samples.set(seriesKey(match[1]!, labels), Number(match[3]));
  }
  return samples;
}

/** The samples whose metric name starts with one of `prefixes`. */
export function samplesOf(
  samples: ReadonlyMap<string, number>,
  prefixes: readonly string[],
): Map<string, number> {
  return new Map([...samples].filter(([key]) => prefixes.some((prefix) => key.startsWith(prefix))));
}
