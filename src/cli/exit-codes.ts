// What the process exit status tells a script. Commands that wait for a job (watch,
// submit --wait, retry --wait, replay --wait) exit with the job's outcome.

export const EXIT = {
  ok: 0,
  /** Something unexpected (a bug, an answer the CLI cannot read). */
  error: 1,
  /** Bad arguments or an unreadable input file: nothing was sent. */
  usage: 2,
  /** The job ended failed. */
  jobFailed: 3,
  /** The job was cancelled. */
  jobCancelled: 4,
  /** The job completed, but some of its items failed (completed_with_errors). */
  jobPartial: 5,
  /** No such job (or route) for this API key. */
  notFound: 6,
  /** The API refused the key (401) or its role (403). */
  auth: 7,
  /** The API rejected the request: invalid input, a conflict (e.g. not running), an oversized body. */
  rejected: 8,
  /** The API could not be reached, timed out, or answered 5xx. */
  unavailable: 9,
  /** --timeout passed before the job ended. */
  timeout: 10,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains in one line and turns into an exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The API's error body, printed as is under --json. */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeForStatus(status: string): ExitCode {
  switch (status) {
    case 'completed':
      return EXIT.ok;
    case 'completed_with_errors':
      return EXIT.jobPartial;
    case 'cancelled':
      return EXIT.jobCancelled;
    case 'running':
      return EXIT.timeout;
    default:
      return EXIT.jobFailed;
  }
}
