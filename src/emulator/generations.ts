import { randomBytes } from 'node:crypto';
import { buildMp4 } from './mp4';
import { StateFile } from './state-file';

// The emulator's generations: each moves queued → in_progress → completed|failed on timers,
// and the counters tests read (creations, in flight now and at most) are kept here. With a
// state file they outlive the emulator: a restarted `npm start` answers for the generations
// its jobs started before, as the real provider would, and running ones finish on time.

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
/** What the state file holds (videos are made again from their generation when loaded). */
interface SavedState {
  generations: Omit<Generation, 'video'>[];
  idempotencyKeys: [string, string][];
  counters: EmulatorStats;
}

export class GenerationStore {
  private readonly byId = new Map<string, Generation>();
  private readonly byIdempotencyKey = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stateFile: StateFile<SavedState> | undefined;
  readonly counters: EmulatorStats = emptyStats();

  /** `stateFile`: where the generations are kept across restarts (loaded now if it exists). */
  constructor(stateFile?: string) {
    if (!stateFile) return;
    this.stateFile = new StateFile(stateFile, { name: 'video emulator', snapshot: () => this.snapshot() });
    if (this.stateFile.restore((saved) => this.load(saved))) return;
    this.close();
    this.byId.clear();
    this.byIdempotencyKey.clear();
    Object.assign(this.counters, emptyStats());
  }

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
    this.schedule(generation);
    this.changed();
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
    this.changed();
  }

  delete(g: Generation): void {
    if (isRunning(g)) {
      g.state = 'cancelled';
      g.finishedAt = Date.now();
      this.changeInFlight(-1);
    }
    g.deleted = true;
    this.counters.deletions++;
    this.changed();
  }

  resetCounters(): void {
    const inFlight = this.counters.inFlight;
    Object.assign(this.counters, emptyStats(), { inFlight, maxInFlight: inFlight });
    this.changed();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stateFile?.flush();
  }

  /** A running generation's timers, from its creation time (a loaded one may be due already). */
  private schedule(g: Generation): void {
    const since = Date.now() - g.createdAt;
    this.after(g.durationMs * QUEUED_SHARE - since, () => {
      if (g.state === 'queued') {
        g.state = 'in_progress';
        this.changed();
      }
    });
    this.after(g.durationMs - since, () => this.finish(g));
  }

  private load(saved: SavedState): void {
    Object.assign(this.counters, saved.counters);
    for (const [key, id] of saved.idempotencyKeys) this.byIdempotencyKey.set(key, id);
    for (const g of saved.generations as Generation[]) {
      this.byId.set(g.id, g);
      if (isRunning(g)) this.schedule(g);
      else if (g.state === 'completed') g.video = videoOf(g);
    }
  }

  private changed(): void {
    this.stateFile?.changed();
  }

  private snapshot(): SavedState {
    return {
      generations: [...this.byId.values()].map(({ video: _video, ...g }) => g),
      idempotencyKeys: [...this.byIdempotencyKey],
      counters: this.counters,
    };
  }

  private finish(g: Generation): void {
    if (!isRunning(g)) return;
    g.finishedAt = Date.now();
    if (g.failure) {
      g.state = 'failed';
      this.counters.failed++;
    } else {
      g.state = 'completed';
      g.video = videoOf(g);
      this.counters.completed++;
    }
    this.changeInFlight(-1);
    this.changed();
  }

  private changeInFlight(delta: number): void {
    this.counters.inFlight += delta;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }
}

export function isRunning(g: Generation): boolean {
  return g.state === 'queued' || g.state === 'in_progress';
}

function videoOf(g: Generation): Buffer {
  return buildMp4({ seconds: g.seconds, portrait: isPortrait(g), hue: hueOf(g.prompt) });
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
