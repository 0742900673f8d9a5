import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import ms from 'ms';
import { CliError, EXIT } from './exit-codes';

// Argument parsers: a bad value stops the command before anything is sent (exit 2).

export function durationOption(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) * 1000 : ms(value as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 10m (a bare number means seconds)');
  return n;
}

export const intOption =
  (min: number, max: number) =>
  (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };

export function numberOption(value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** Reads a file (or stdin for `-`) of at most `maxBytes`, with a message naming the file on failure. */
export async function readInputFile(file: string, maxBytes: number): Promise<string> {
  const name = file === '-' ? 'stdin' : file;
  const tooLarge = () => new CliError(`${name}: larger than ${Math.round(maxBytes / 1024 / 1024)} MB`, EXIT.usage);
  try {
    if (file !== '-' && fs.statSync(file).size > maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of file === '-' ? process.stdin : fs.createReadStream(file)) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.usage);
  }
}

/** A JSON file as an object, or exit 2 naming what is wrong. */
export async function readJsonFile(file: string, maxBytes = 8 * 1024 * 1024): Promise<Record<string, unknown>> {
  const text = await readInputFile(file, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file}: not valid JSON (${(e as Error).message})`, EXIT.usage);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${file}: must hold a JSON object`, EXIT.usage);
  return value as Record<string, unknown>;
}
