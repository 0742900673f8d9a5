import { randomBytes } from 'node:crypto';
import { buildMp4 } from './mp4';

// The emulator's generations: each moves queued → in_progress → completed|failed on timers,
// and the counters tests read (creations, in flight now and at most) are kept here.

export type EmulatedApi = 'openai' | 'gemini';
export type GenerationState = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export interface GenerationSpec {
  api: EmulatedApi;
  model: string;
  prompt: string;
  seconds: number;
  size?: string;
  aspectRatio?: string;
  resolution?: string;
  durationMs: number;
  /** Set when the generation is to fail; the message is what the provider reports. */
  failure?: { code: string; message: string };
}

export interface Generation extends GenerationSpec {
  id: string;
  createdAt: number;
  state: GenerationState;
  finishedAt?: number;
  deleted: boolean;
  video?: Buffer;
}

export interface EmulatorStats {
  creations: { openai: number; gemini: number; total: number };
  /** Creates answered with an existing generation because the Idempotency-Key was seen before. */
  idempotentReplays: number;
  inFlight: number;
  maxInFlight: number;
  completed: number;
  failed: number;
  deletions: number;
  cancellations: number;
  faultsInjected: number;
  requests: number;
}

const QUEUED_SHARE = 0.1;

export class GenerationStore {
  private readonly byId = new Map<string, Generation>();
  private readonly byIdempotencyKey = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly counters: EmulatorStats = emptyStats();

  /** Creates a generation, or returns the one an earlier request with the same key created. */
  create(spec: GenerationSpec, idempotencyKey?: string): { generation: Generation; replayed: boolean } {
    const scopedKey = idempotencyKey ? `${spec.api}:${idempotencyKey}` : undefined;
    const existingId = scopedKey ? this.byIdempotencyKey.get(scopedKey) : undefined;
    if (existingId) {
      this.counters.idempotentReplays++;
      return { generation: this.byId.get(existingId)!, replayed: true };
    }
    const id = `${spec.api === 'openai' ? 'video_' : ''}${randomBytes(12).toString('hex')}`;
    const generation: Generation = { ...spec, id, createdAt: Date.now(), state: 'queued', deleted: false };
    this.byId.set(id, generation);
    if (scopedKey) this.byIdempotencyKey.set(scopedKey, id);
    this.counters.creations[spec.api]++;
    this.counters.creations.total++;
    this.changeInFlight(+1);
    this.after(spec.durationMs * QUEUED_SHARE, () => {
      if (generation.state === 'queued') generation.state = 'in_progress';
    });
    this.after(spec.durationMs, () => this.finish(generation));
    return { generation, replayed: false };
  }

  get(id: string): Generation | undefined {
    const g = this.byId.get(id);
    return g && !g.deleted ? g : undefined;
  }

  /** One API's generations that are not deleted, oldest first. */
  list(api: EmulatedApi): Generation[] {
    return [...this.byId.values()].filter((g) => g.api === api && !g.deleted);
  }

  /** Percent done as the provider would report it. */
  percent(g: Generation): number {
    if (g.state === 'completed') return 100;
    if (g.state === 'queued') return 0;
    const share = (Date.now() - g.createdAt) / Math.max(1, g.durationMs);
    return Math.max(0, Math.min(99, Math.floor(share * 100)));
  }

  cancel(g: Generation): void {
    if (!isRunning(g)) return;
    g.state = 'cancelled';
    g.finishedAt = Date.now();
    this.counters.cancellations++;
    this.changeInFlight(-1);
  }

  delete(g: Generation): void {
    if (isRunning(g)) {
      g.state = 'cancelled';
      g.finishedAt = Date.now();
      this.changeInFlight(-1);
    }
    g.deleted = true;
    this.counters.deletions++;
  }

  resetCounters(): void {
    const inFlight = this.counters.inFlight;
    Object.assign(this.counters, emptyStats(), { inFlight, maxInFlight: inFlight });
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private finish(g: Generation): void {
    if (!isRunning(g)) return;
    g.finishedAt = Date.now();
    if (g.failure) {
      g.state = 'failed';
      this.counters.failed++;
    } else {
      g.state = 'completed';
      g.video = buildMp4({ seconds: g.seconds, portrait: isPortrait(g), hue: hueOf(g.prompt) });
      this.counters.completed++;
    }
    this.changeInFlight(-1);
  }

  private changeInFlight(delta: number): void {
    this.counters.inFlight += delta;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

export function isRunning(g: Generation): boolean {
  return g.state === 'queued' || g.state === 'in_progress';
}

function isPortrait(g: Generation): boolean {
  if (g.aspectRatio) return g.aspectRatio === '9:16';
  const [w, h] = (g.size ?? '1280x720').split('x').map(Number);
  return h > w;
}

function hueOf(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) & 0xff;
  return h;
}

function emptyStats(): EmulatorStats {
  return {
    creations: { openai: 0, gemini: 0, total: 0 },
    idempotentReplays: 0,
    inFlight: 0,
    maxInFlight: 0,
    completed: 0,
    failed: 0,
    deletions: 0,
    cancellations: 0,
    faultsInjected: 0,
    requests: 0,
  };
}
