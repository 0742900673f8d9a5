import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import bytes from 'bytes';
import { parseDuration, parseDurationList } from '../shared/duration';

// Field builders for env schemas (the platform's below, each job type's in its
// src/activities/<job>/config.ts): each names what a good value looks like.

/** Runs `parse` inside a zod transform, turning its exception into an issue on the variable. */
const parsed =
  <T>(parse: (v: string) => T) =>
  (v: string, ctx: z.RefinementCtx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  };

export const optionalString = z.string().trim().min(1).optional().catch(undefined);
export const duration = (fallback: string) => z.string().default(fallback).transform(parsed(parseDuration));
export const durationList = (fallback: string) => z.string().default(fallback).transform(parsed(parseDurationList));
export const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);
export const fraction = (fallback: number) => z.coerce.number().gt(0).max(1).default(fallback);
export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const url = (fallback: string) => z.url().default(fallback);
export const optionalUrl = () => z.url().optional();
export const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform(
      parsed((v) => {
        const n = /^\s*\d+(\.\d+)?\s*(b|kb|mb|gb)?\s*$/i.test(v) ? bytes.parse(v) : null;
        if (n === null || !Number.isFinite(n)) throw new Error(`"${v}" is not a size (examples: 512kb, 1mb)`);
        return n;
      }),
    );
export const list = () =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
export const hostList = () => list().transform((hosts) => hosts.map((h) => h.toLowerCase()));

const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** A 5-field cron expression (UTC) or a shorthand such as @daily, checked before it reaches Temporal. */
export const cron = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform(
      parsed((v) => {
        const text = v.trim();
        if (CRON_SHORTHANDS.includes(text.toLowerCase())) return text;
        if (text.split(/\s+/).length !== 5) {
          throw new Error(
            `"${v}" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`,
          );
        }
        try {
          CronExpressionParser.parse(text);
        } catch (e) {
          throw new Error(`"${v}" is not a cron expression: ${(e as Error).message}`);
        }
        return text;
      }),
    );
