import { randomBytes } from 'node:crypto';
import { StateFile } from '../state-file';

// What the store emulator remembers: App Store Connect build uploads, builds, versions and
// review submissions; Google Play edits and committed tracks. States move on timers.

export type BuildUploadState = 'AWAITING_UPLOAD' | 'PROCESSING' | 'FAILED' | 'COMPLETE';
export type ProcessingState = 'PROCESSING' | 'FAILED' | 'INVALID' | 'VALID';
export type ReviewState =
  'READY_FOR_REVIEW' | 'WAITING_FOR_REVIEW' | 'IN_REVIEW' | 'UNRESOLVED_ISSUES' | 'CANCELING' | 'COMPLETING' | 'COMPLETE';

export interface UploadFile {
  id: string;
  uploadId: string;
  fileName: string;
  fileSize: number;
  uti: string;
  partSize: number;
  parts: Map<number, Buffer>;
  state: 'AWAITING_UPLOAD' | 'UPLOAD_COMPLETE' | 'COMPLETE' | 'FAILED';
}

export interface StateDetail {
  code: string;
  description: string;
}

export interface AscBuildUpload {
  id: string;
  appId: string;
  version: string;
  buildNumber: string;
  platform: string;
  createdAt: number;
  state: BuildUploadState;
  errors: StateDetail[];
  fileId?: string;
  buildId?: string;
  /** While PROCESSING: since when, and why the binary will be refused (if it will). */
  processing?: { since: number; invalidReason?: string };
}

export interface AscBuild {
  id: string;
  appId: string;
  version: string;
  buildNumber: string;
  processingState: ProcessingState;
  /** Why processing ended INVALID or FAILED (the emulator's stand-in for Apple's email). */
  reason?: string;
  /** While PROCESSING: when it settles, and as what unless VALID. */
  settles?: { at: number; outcome?: NonNullable<StoreBehaviour['nextProcessing']> };
}

export interface AscVersion {
  id: string;
  appId: string;
  platform: string;
  versionString: string;
  buildId?: string;
  appStoreState: string;
}

export interface ReviewItem {
  id: string;
  versionId: string;
  state: 'READY_FOR_REVIEW' | 'ACCEPTED' | 'APPROVED' | 'REJECTED' | 'REMOVED';
}

export interface ReviewSubmission {
  id: string;
  appId: string;
  platform: string;
  state: ReviewState;
  items: ReviewItem[];
  submittedAt?: number;
  rejectionReason?: string;
  /** While submitted: a rejection the behaviour asked for. */
  reviewOutcome?: NonNullable<StoreBehaviour['nextReview']>;
  /** While CANCELING: since when. */
  cancelingSince?: number;
}

export interface PlayRelease {
  name?: string;
  versionCodes: string[];
  status: string;
  userFraction?: number;
  releaseNotes?: { language: string; text: string }[];
}

export interface PlayEdit {
  id: string;
  packageName: string;
  expiresAt: number;
  bundles: number[];
  tracks: Map<string, PlayRelease[]>;
  committed: boolean;
}

/** One-shot outcomes and slow paths set through the control API. */
export interface StoreBehaviour {
  /** The next build to finish processing ends in this state, with the reason. */
  nextProcessing?: { state: 'INVALID' | 'FAILED'; reason?: string };
  /** The next review submission ends with issues (rejected), with the reason. */
  nextReview?: { outcome: 'REJECTED'; reason?: string };
  /** Package names whose app is still a draft in Play Console. */
  draftApps?: string[];
  /** Delay before each uploaded part or bundle is accepted. */
  uploadDelayMs?: number;
}

export interface StoreStats {
  tokenExchanges: number;
  authFailures: number;
  buildUploads: number;
  partsUploaded: number;
  buildsProcessed: number;
  reviewSubmissions: number;
  /** PATCH … submitted: true that moved a submission into review. */
  submissionsSubmitted: number;
  submissionsCanceled: number;
  editsInserted: number;
  bundlesUploaded: number;
  editsCommitted: number;
  faultsInjected: number;
  requests: number;
}

export interface StoreTimings {
  /** Upload committed → build VALID/INVALID. */
  processingMs: number;
  /** Submitted → review COMPLETE/UNRESOLVED_ISSUES. */
  reviewMs: number;
}

export const newId = (prefix = '') => `${prefix}${randomBytes(10).toString('hex')}`;

export class StoreState {
  readonly uploads = new Map<string, AscBuildUpload>();
  readonly files = new Map<string, UploadFile>();
  readonly builds = new Map<string, AscBuild>();
  readonly versions = new Map<string, AscVersion>();
  readonly submissions = new Map<string, ReviewSubmission>();
  readonly reviewItems = new Map<string, { submissionId: string; item: ReviewItem }>();
  readonly edits = new Map<string, PlayEdit>();
  /** Committed Play state: packageName → track → releases. */
  readonly playTracks = new Map<string, Map<string, PlayRelease[]>>();
  /** Play version codes ever uploaded, per package. */
  readonly playVersionCodes = new Map<string, Set<number>>();
  behaviour: StoreBehaviour = {};
  counters: StoreStats = emptyStats();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stateFile: StateFile<SavedStoreState> | undefined;

  /** `stateFile`: where the state is kept across restarts (loaded now if it exists). */
  constructor(
    readonly timings: StoreTimings,
    stateFile?: string,
  ) {
    if (!stateFile) return;
    this.stateFile = new StateFile(stateFile, {
      name: 'store emulator',
      snapshot: () => this.snapshot(),
      replacer: replace,
      reviver: revive,
    });
    if (this.stateFile.restore((saved) => this.load(saved))) return;
    this.close();
    for (const map of this.maps()) map.clear();
    this.behaviour = {};
    this.counters = emptyStats();
  }

  /** Runs `fn` in `ms` (at once if that is past), then saves what it changed. */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
        this.changed();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }

  /** Something changed: write the state file soon. */
  changed(): void {
    this.stateFile?.changed();
  }

  /** Processing of a committed upload: PROCESSING, then the build is VALID (or what the behaviour says). */
  startProcessing(upload: AscBuildUpload, invalidReason: string | undefined): void {
    upload.state = 'PROCESSING';
    upload.processing = { since: Date.now(), invalidReason };
    this.scheduleProcessing(upload);
  }

  private scheduleProcessing(upload: AscBuildUpload): void {
    const half = this.timings.processingMs / 2;
    this.after(upload.processing!.since + half - Date.now(), () => {
      const { invalidReason } = upload.processing!;
      upload.processing = undefined;
      if (invalidReason) {
        upload.state = 'FAILED';
        upload.errors.push({ code: 'INVALID_BINARY', description: invalidReason });
        return;
      }
      upload.state = 'COMPLETE';
      const build: AscBuild = {
        id: newId('build-'),
        appId: upload.appId,
        version: upload.version,
        buildNumber: upload.buildNumber,
        processingState: 'PROCESSING',
        settles: { at: Date.now() + half, outcome: this.behaviour.nextProcessing },
      };
      this.behaviour.nextProcessing = undefined;
      this.builds.set(build.id, build);
      upload.buildId = build.id;
      this.scheduleBuild(build);
    });
  }

  private scheduleBuild(build: AscBuild): void {
    this.after(build.settles!.at - Date.now(), () => {
      const { outcome } = build.settles!;
      build.settles = undefined;
      build.processingState = outcome?.state ?? 'VALID';
      if (outcome) build.reason = outcome.reason ?? 'The binary is invalid (emulated).';
      this.counters.buildsProcessed++;
    });
  }

  /** App Review: waiting, in review, then complete (approved) or unresolved issues (rejected). */
  startReview(submission: ReviewSubmission): void {
    submission.state = 'WAITING_FOR_REVIEW';
    submission.submittedAt = Date.now();
    submission.reviewOutcome = this.behaviour.nextReview;
    this.behaviour.nextReview = undefined;
    this.scheduleReview(submission);
  }

  private scheduleReview(submission: ReviewSubmission): void {
    const submittedAt = submission.submittedAt!;
    // A review cancelled and submitted again runs on timers of its own.
    const stillSubmitted = () =>
      submission.submittedAt === submittedAt && (submission.state === 'WAITING_FOR_REVIEW' || submission.state === 'IN_REVIEW');
    this.after(submittedAt + this.timings.reviewMs / 3 - Date.now(), () => {
      if (stillSubmitted() && submission.state === 'WAITING_FOR_REVIEW') submission.state = 'IN_REVIEW';
    });
    this.after(submittedAt + this.timings.reviewMs - Date.now(), () => {
      if (!stillSubmitted()) return;
      const outcome = submission.reviewOutcome;
      submission.reviewOutcome = undefined;
      if (outcome) {
        submission.state = 'UNRESOLVED_ISSUES';
        submission.rejectionReason = outcome.reason ?? 'Guideline 2.1 - Performance - App Completeness (emulated rejection).';
        for (const i of submission.items) i.state = 'REJECTED';
        return;
      }
      submission.state = 'COMPLETE';
      for (const i of submission.items) {
        i.state = 'APPROVED';
        const version = this.versions.get(i.versionId);
        if (version) version.appStoreState = 'PENDING_DEVELOPER_RELEASE';
      }
    });
  }

  /** Cancelling a submitted review: CANCELING, then back to an empty draft. */
  cancelReview(submission: ReviewSubmission): void {
    submission.state = 'CANCELING';
    submission.cancelingSince = Date.now();
    submission.reviewOutcome = undefined;
    this.counters.submissionsCanceled++;
    this.scheduleCancel(submission);
  }

  private scheduleCancel(submission: ReviewSubmission): void {
    this.after(submission.cancelingSince! + Math.min(500, this.timings.reviewMs / 10) - Date.now(), () => {
      submission.cancelingSince = undefined;
      submission.state = 'READY_FOR_REVIEW';
      for (const i of submission.items) i.state = 'REMOVED';
      submission.submittedAt = undefined;
    });
  }

  reset(): void {
    this.behaviour = {};
    this.counters = emptyStats();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stateFile?.flush();
  }

  private maps(): Map<string, unknown>[] {
    return [
      this.uploads,
      this.files,
      this.builds,
      this.versions,
      this.submissions,
      this.reviewItems,
      this.edits,
      this.playTracks,
      this.playVersionCodes,
    ];
  }

  private snapshot(): SavedStoreState {
    return {
      uploads: [...this.uploads.values()],
      files: [...this.files.values()],
      builds: [...this.builds.values()],
      versions: [...this.versions.values()],
      submissions: [...this.submissions.values()],
      edits: [...this.edits.values()],
      playTracks: this.playTracks,
      playVersionCodes: this.playVersionCodes,
      behaviour: this.behaviour,
      counters: this.counters,
    };
  }

  /** Takes a saved state and starts the timers of whatever was under way, at their original times. */
  private load(saved: SavedStoreState): void {
    const byId = <T extends { id: string }>(map: Map<string, T>, list: T[]) => list.forEach((x) => map.set(x.id, x));
    byId(this.uploads, saved.uploads);
    byId(this.files, saved.files);
    byId(this.builds, saved.builds);
    byId(this.versions, saved.versions);
    byId(this.submissions, saved.submissions);
    byId(this.edits, saved.edits);
    for (const [k, v] of saved.playTracks) this.playTracks.set(k, v);
    for (const [k, v] of saved.playVersionCodes) this.playVersionCodes.set(k, v);
    // Review items are the same objects as their submission's items.
    for (const s of this.submissions.values()) for (const item of s.items) this.reviewItems.set(item.id, { submissionId: s.id, item });
    this.behaviour = saved.behaviour;
    Object.assign(this.counters, saved.counters);
    for (const u of this.uploads.values()) if (u.state === 'PROCESSING' && u.processing) this.scheduleProcessing(u);
    for (const b of this.builds.values()) if (b.processingState === 'PROCESSING' && b.settles) this.scheduleBuild(b);
    for (const s of this.submissions.values()) {
      if ((s.state === 'WAITING_FOR_REVIEW' || s.state === 'IN_REVIEW') && s.submittedAt) this.scheduleReview(s);
      if (s.state === 'CANCELING' && s.cancelingSince) this.scheduleCancel(s);
    }
  }
}

interface SavedStoreState {
  uploads: AscBuildUpload[];
  files: UploadFile[];
  builds: AscBuild[];
  versions: AscVersion[];
  submissions: ReviewSubmission[];
  edits: PlayEdit[];
  playTracks: Map<string, Map<string, PlayRelease[]>>;
  playVersionCodes: Map<string, Set<number>>;
  behaviour: StoreBehaviour;
  counters: StoreStats;
}

/** JSON for the Maps, Sets and Buffers the state holds (JSON.stringify has turned a Buffer into {type, data} by now). */
function replace(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { $map: [...value] };
  if (value instanceof Set) return { $set: [...value] };
  const b = value as { type?: unknown; data?: unknown } | null;
  if (b && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data))
    return { $buffer: Buffer.from(b.data as number[]).toString('base64') };
  return value;
}

function revive(_key: string, value: unknown): unknown {
  const v = value as { $map?: [unknown, unknown][]; $set?: unknown[]; $buffer?: unknown } | null;
  if (v && typeof v === 'object') {
    if (v.$map) return new Map(v.$map);
    if (v.$set) return new Set(v.$set);
    if (typeof v.$buffer === 'string') return Buffer.from(v.$buffer, 'base64');
  }
  return value;
}

function emptyStats(): StoreStats {
  return {
    tokenExchanges: 0,
    authFailures: 0,
    buildUploads: 0,
    partsUploaded: 0,
    buildsProcessed: 0,
    reviewSubmissions: 0,
    submissionsSubmitted: 0,
    submissionsCanceled: 0,
    editsInserted: 0,
    bundlesUploaded: 0,
    editsCommitted: 0,
    faultsInjected: 0,
    requests: 0,
  };
}
