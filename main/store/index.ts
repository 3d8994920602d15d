// The project store's public API. See docs/store.md.
export { initProject, openProject, PROJECT_FILE, FORMAT_VERSION, type Project } from './project.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { openDatabase, openSnapshot } from './db.js';
export { importFolder, type ImportReport, type ImportProgress, type ImportOptions } from './import-folder.js';
export { readImageHeader, hashFile, IMAGE_EXTENSIONS, type ImageHeader } from './image-files.js';
export { migrate, loadMigrations, schemaVersion, type Migration, type MigrationResult } from './migrate.js';
export { checkRelativePath } from './paths.js';
export type { ProjectSettings } from './settings.js';
export type { ImageRecord, ImageStatus, NewImage } from './images.js';
export type { Category, NewCategory } from './categories.js';
export type {
  Annotation,
  AnnotationPatch,
  AnnotationRow,
  AnnotationSource,
  AnnotationState,
  Bbox,
  NewAnnotation,
} from './annotations.js';
export type { HistoryStep } from './history.js';
export type { Job, JobState } from './jobs.js';
export * as imagesQueries from './images.js';
export * as categoriesQueries from './categories.js';
export * as annotationsQueries from './annotations.js';
export * as historyQueries from './history.js';
export * as jobsQueries from './jobs.js';
export * as settingsQueries from './settings.js';
export * as summariesQueries from './summaries.js';
export type { ImageSummaryRow } from './summaries.js';
