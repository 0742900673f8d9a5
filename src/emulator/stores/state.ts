import { randomBytes } from 'node:crypto';

// What the store emulator remembers: App Store Connect build uploads, builds, versions and
// review submissions; Google Play edits and committed tracks. States move on timers.

export type BuildUploadState = 'AWAITING_UPLOAD' | 'PROCESSING' | 'FAILED' | 'COMPLETE';
export type ProcessingState = 'PROCESSING' | 'FAILED' | 'INVALID' | 'VALID';
export type ReviewState = 'READY_FOR_REVIEW' | 'WAITING_FOR_REVIEW' | 'IN_REVIEW' | 'UNRESOLVED_ISSUES' | 'CANCELING' | 'COMPLETING' | 'COMPLETE';

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
}

export interface AscBuild {
  id: string;
  appId: string;
  version: string;
  buildNumber: string;
  processingState: ProcessingState;
  /** Why processing ended INVALID or FAILED (the emulator's stand-in for Apple's email). */
  reason?: string;
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

  constructor(readonly timings: StoreTimings) {}

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Processing of a committed upload: PROCESSING, then the build is VALID (or what the behaviour says). */
  startProcessing(upload: AscBuildUpload, invalidReason: string | undefined): void {
    upload.state = 'PROCESSING';
    const half = this.timings.processingMs / 2;
    this.after(half, () => {
      if (invalidReason) {
        upload.state = 'FAILED';
        upload.errors.push({ code: 'INVALID_BINARY', description: invalidReason });
        return;
      }
      upload.state = 'COMPLETE';
      const build: AscBuild = { id: newId('build-'), appId: upload.appId, version: upload.version, buildNumber: upload.buildNumber, processingState: 'PROCESSING' };
      this.builds.set(build.id, build);
      upload.buildId = build.id;
      const outcome = this.behaviour.nextProcessing;
      this.behaviour.nextProcessing = undefined;
      this.after(half, () => {
        build.processingState = outcome?.state ?? 'VALID';
        if (outcome) build.reason = outcome.reason ?? 'The binary is invalid (emulated).';
        this.counters.buildsProcessed++;
      });
    });
  }

  /** App Review: waiting, in review, then complete (approved) or unresolved issues (rejected). */
  startReview(submission: ReviewSubmission): void {
    submission.state = 'WAITING_FOR_REVIEW';
    submission.submittedAt = Date.now();
    const outcome = this.behaviour.nextReview;
    this.behaviour.nextReview = undefined;
    const stillSubmitted = () => submission.state === 'WAITING_FOR_REVIEW' || submission.state === 'IN_REVIEW';
    this.after(this.timings.reviewMs / 3, () => {
      if (submission.state === 'WAITING_FOR_REVIEW') submission.state = 'IN_REVIEW';
    });
    this.after(this.timings.reviewMs, () => {
      if (!stillSubmitted()) return;
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
    this.counters.submissionsCanceled++;
    this.after(Math.min(500, this.timings.reviewMs / 10), () => {
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
  }
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
