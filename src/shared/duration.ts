import ms from 'ms';

// Durations in config and inputs: "500ms", "5s", "5m", "2h", "1d" (or a bare number of ms).

export function parseDuration(text: string): number {
  const value = /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$/.test(text) ? ms(text.trim() as ms.StringValue) : undefined;
  if (value === undefined || !Number.isFinite(value)) throw new Error(`"${text}" is not a duration (examples: 500ms, 5s, 5m, 2h)`);
  return Math.round(value);
}

export function parseDurationList(text: string): number[] {
  return text.split(',').map((part) => parseDuration(part));
}
