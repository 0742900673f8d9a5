// Parses "500ms", "5s", "5m", "2h", "1d" (or a bare number of ms). Pure: used by workflows too.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (examples: 500ms, 5s, 5m, 2h)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

export function parseDurationList(text: string): number[] {
  return text.split(',').map((part) => parseDuration(part));
}
