// Background jobs: auto-annotate (SAM AMG) and boxes → masks over a project's images, resumable after a
// crash, with progress events. See docs/amg.md.
export {
  startAutoAnnotate,
  startBoxesToMasks,
  resumeJob,
  findResumableJob,
  DEFAULT_AUTO_CATEGORY,
} from './auto.js';
export { JobHandle, runImageJob, type ImageWork } from './runner.js';
export { selectImages } from './select.js';
export {
  JobError,
  type AutoAnnotateParams,
  type BoxesToMasksParams,
  type AutoJobKind,
  type ImageFilter,
  type JobProgress,
  type JobRunState,
} from './types.js';
