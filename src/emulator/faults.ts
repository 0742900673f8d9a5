// Faults on demand: rules set through the control API (or the server handle) apply to the
// next matching requests; markers in a prompt shape that one generation.

export type EmulatedRoute = 'create' | 'status' | 'content' | 'delete' | 'list';

export interface FaultRule<Api extends string = 'openai' | 'gemini', Route extends string = EmulatedRoute> {
  /** Which API the rule hits; every API when absent. */
  api?: Api;
  /** Which call; every call when absent. */
  route?: Route;
  /** Answer with this HTTP status (429, 500, 503, 400…) instead of handling the request. */
  status?: number;
  /** Sent as Retry-After (seconds) with the error. */
  retryAfterSeconds?: number;
  /** Delay before answering (or before the error). */
  latencyMs?: number;
  /**
   * Handle the request, then hold the answer back this long: a create that succeeds at the
   * provider but answers after the client has given up.
   */
  lateAnswerMs?: number;
  /** Error message in the provider-style body. */
  message?: string;
  /** How many requests the rule applies to; unlimited when absent. */
  times?: number;
}

export interface AppliedFault {
  status?: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
  lateAnswerMs?: number;
  message?: string;
}

export class FaultBook<Api extends string = 'openai' | 'gemini', Route extends string = EmulatedRoute> {
  private rules: FaultRule<Api, Route>[] = [];

  add(rule: FaultRule<Api, Route>): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  /** The faults for one request; consumes one use of each matching rule. */
  take(api: Api, route: Route): AppliedFault | undefined {
    let applied: AppliedFault | undefined;
    for (const rule of this.rules) {
      if ((rule.api && rule.api !== api) || (rule.route && rule.route !== route)) continue;
      if (rule.times !== undefined && rule.times <= 0) continue;
      if (rule.times !== undefined) rule.times--;
      applied = { ...applied };
      if (rule.latencyMs) applied.latencyMs = (applied.latencyMs ?? 0) + rule.latencyMs;
      if (rule.lateAnswerMs) applied.lateAnswerMs = (applied.lateAnswerMs ?? 0) + rule.lateAnswerMs;
      if (rule.status && !applied.status) {
        applied.status = rule.status;
        applied.retryAfterSeconds = rule.retryAfterSeconds;
        applied.message = rule.message;
      }
    }
    this.rules = this.rules.filter((r) => r.times === undefined || r.times > 0);
    return applied;
  }
}

/**
 * Markers a prompt may carry:
 *   [policy]        refused at create with a content-policy 400
 *   [fail] or [fail:message]  the generation fails
 *   [gen:1500]      the generation takes 1500 ms instead of the server default
 *   [429:3] / [500:2]  the first 3 (2) create attempts for this prompt get that status
 */
export interface PromptMarkers {
  policy: boolean;
  failMessage?: string;
  generationMs?: number;
  createErrors?: { status: number; count: number };
}

export function readPromptMarkers(prompt: string): PromptMarkers {
  const markers: PromptMarkers = { policy: /\[policy\]/i.test(prompt) };
  const fail = /\[fail(?::([^\]]*))?\]/i.exec(prompt);
  if (fail) markers.failMessage = fail[1]?.trim() || 'The video could not be generated (emulated failure).';
  const gen = /\[gen:(\d+)\]/i.exec(prompt);
  if (gen) markers.generationMs = Number(gen[1]);
  const storm = /\[(429|5\d\d):(\d+)\]/.exec(prompt);
  if (storm) markers.createErrors = { status: Number(storm[1]), count: Number(storm[2]) };
  return markers;
}
