// Public types of background jobs (auto-annotate, boxes → masks).
import type { AmgOptionsInput } from '../../common/amg/types.js';
import type { DecoderChoice } from '../engine/amg/index.js';

/** Job kinds this module runs (names as in common/contracts JobKind). */
export type AutoJobKind = 'autoAnnotate' | 'boxesToMasks';

export type JobRunState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** Which images a job covers. Both empty: every image of the project that is on disk. */
export interface ImageFilter {
  /** Glob (picomatch) on the image's path relative to the project root, e.g. "train/**\/*.jpg". */
  glob?: string;
  /** Explicit image ids. */
  imageIds?: number[];
}

/** Parameters of an auto-annotate job (stored with the job, so a resumed job uses the same ones). */
export interface AutoAnnotateParams extends ImageFilter {
  /** SAM AMG settings; unset fields take SAM's defaults. */
  amg?: AmgOptionsInput;
  /** Category of the proposals: an id, or a name created when missing (default "object"). */
  categoryId?: number;
  categoryName?: string;
  /** Decoder used for the point grid (default auto: batched when the model has one). */
  decoder?: DecoderChoice;
  /** Drop a proposal whose mask IoU with an accepted or rejected annotation of the image is ≥ this (default 0.9). */
  duplicateIou?: number;
}

/** Parameters of a boxes → masks job. */
export interface BoxesToMasksParams extends ImageFilter {
  decoder?: DecoderChoice;
  /** Box prompts per decoder call (default 64). */
  pointsPerBatch?: number;
}

/** A job's progress: the payload of every `progress` event. */
export interface JobProgress {
  jobId: number;
  kind: AutoJobKind;
  state: JobRunState;
  /** Images finished (done or failed), including those finished before a resume. */
  done: number;
  total: number;
  /** Images that failed (their error is kept in the job's items). */
  failed: number;
  /** Images per second over this run (null until one image is finished). */
  imagesPerSecond: number | null;
  /** Seconds left at the current rate (null while unknown). */
  etaSeconds: number | null;
  /** Relative path of the image being processed, or a short status. */
  message: string;
  /** Set when the job failed as a whole. */
  error: { code: string; message: string } | null;
  startedAt: number;
  finishedAt: number | null;
}

/** Thrown for invalid job requests; `code` is stable for callers. */
export class JobError extends Error {
  constructor(
    readonly code: 'JOB_BAD_PARAMS' | 'JOB_NOT_FOUND' | 'JOB_NOT_RESUMABLE' | 'JOB_NO_IMAGES',
    message: string,
  ) {
    super(message);
    this.name = 'JobError';
  }
}
