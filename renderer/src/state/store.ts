// The one store: everything the UI shows comes from here; Konva and React only draw it. Actions that
// talk to the backend live in controller.ts and write their results here.
import { createStore } from 'zustand/vanilla';
import type {
  Annotation,
  AppInfo,
  Category,
  ImageStatus,
  ImageSummary,
  JobInfo,
  ModelInfo,
  ProjectInfo,
  ProjectStats,
  ProviderInfo,
  RecentProject,
} from '../../../common/contracts/index.js';
import { initialPromptState, type PromptToolState } from '../editor/promptTool.js';
import { initialBrushState, type BrushToolState } from '../editor/brushTool.js';

export type View = 'projects' | 'grid' | 'annotate';
export type ToolName = 'prompt' | 'brush' | 'eraser';
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Embedding of the image on screen: the live preview waits for `ready`. */
export interface EmbeddingState {
  imageId: number | null;
  state: 'none' | 'computing' | 'ready' | 'failed';
  ms: number | null;
  cached: boolean;
}

export interface Toast {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export interface AppState {
  connection: ConnectionState;
  connectionError: string | null;
  appInfo: AppInfo | null;
  project: ProjectInfo | null;
  recent: RecentProject[];
  stats: ProjectStats | null;
  view: View;

  images: ImageSummary[];
  imagesTotal: number;
  filter: { status: ImageStatus | null; categoryId: number | null };

  categories: Category[];
  activeCategoryId: number | null;

  currentImageId: number | null;
  currentImage: { url: string; width: number; height: number } | null;
  annotations: Annotation[];
  hidden: Record<number, true>;
  selectedId: number | null;
  embedding: EmbeddingState;
  /** Zoom/pan of the stage: screen = image × scale + (x, y), relative to the stage element. */
  viewport: { scale: number; x: number; y: number };

  tool: ToolName;
  prompt: PromptToolState;
  brush: BrushToolState;
  history: { canUndo: boolean; canRedo: boolean; label: string | null };
  /** Proposal review: score threshold, focused proposal, prompt-grid density for auto-annotate. */
  review: { minScore: number; focusId: number | null; pointsPerSide: number };

  jobs: Record<string, JobInfo>;
  provider: ProviderInfo | null;
  models: ModelInfo[];
  dialog: 'export' | 'models' | null;
  toasts: Toast[];
}

/** A fresh state for a new session. */
export function initialState(): AppState {
  return {
    connection: 'connecting',
    connectionError: null,
    appInfo: null,
    project: null,
    recent: [],
    stats: null,
    view: 'projects',
    images: [],
    imagesTotal: 0,
    filter: { status: null, categoryId: null },
    categories: [],
    activeCategoryId: null,
    currentImageId: null,
    currentImage: null,
    annotations: [],
    hidden: {},
    selectedId: null,
    embedding: { imageId: null, state: 'none', ms: null, cached: false },
    viewport: { scale: 1, x: 0, y: 0 },
    tool: 'prompt',
    prompt: initialPromptState(),
    brush: initialBrushState(),
    history: { canUndo: false, canRedo: false, label: null },
    review: { minScore: 0.9, focusId: null, pointsPerSide: 16 },
    jobs: {},
    provider: null,
    models: [],
    dialog: null,
    toasts: [],
  };
}

/** Creates the store (one per app; tests make their own). */
export function createAppStore() {
  return createStore<AppState>()(() => initialState());
}

export type AppStore = ReturnType<typeof createAppStore>;

/** Proposals of the image on screen, best score first. */
export function proposals(s: Pick<AppState, 'annotations'>): Annotation[] {
  return s.annotations.filter((a) => a.status === 'proposed').sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
}

/** Color of an annotation's category (grey when uncategorised or unknown). */
export function colorOf(categories: Category[], categoryId: number | null): string {
  return categories.find((c) => c.id === categoryId)?.color ?? '#9aa4b2';
}
