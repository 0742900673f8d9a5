import pino from 'pino';

// Structured JSON lines (pino) on stdout; fields such as jobId, workflowType and attempt ride along.
// The call shape `log.info(message, fields)` keeps call sites short; pino does the writing.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Errors anywhere in the fields log as {name, message}; bigints as strings. */
function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : typeof v === 'bigint' ? v.toString() : v;
  }
  return out;
}

function wrap(log: pino.Logger): Logger {
  return {
    debug: (m, f) => log.debug(plain(f) ?? {}, m),
    info: (m, f) => log.info(plain(f) ?? {}, m),
    warn: (m, f) => log.warn(plain(f) ?? {}, m),
    error: (m, f) => log.error(plain(f) ?? {}, m),
    child: (fields) => wrap(log.child(plain(fields) ?? {})),
  };
}

export function createLogger(base: Record<string, unknown> = {}, level: LogLevel = 'info'): Logger {
  return wrap(
    pino({
      level,
      base: plain(base) ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    }),
  );
}
