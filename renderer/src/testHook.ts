// `window.__maskroomTest`: a read-only window into the store for the e2e suite and the latency bench.
// Everything it returns is a copy; it has no way to change state.
import type { Controller } from './state/controller.js';

export interface MaskroomTestHook {
  /** RLE of the candidate mask on screen (null when none). */
  candidateRle(): { size: [number, number]; counts: string } | null;
  /** Prompt tool phase and sequence of the pending request. */
  promptPhase(): string;
  /** RLE of the live hover preview (null when none). */
  hoverRle(): { size: [number, number]; counts: string } | null;
  /** Labels of the current point prompts (1 positive, 0 negative), in click order. */
  promptLabels(): number[];
  /** Annotations of the image on screen. */
  annotations(): {
    id: number;
    categoryId: number | null;
    status: string;
    area: number;
    score: number | null;
    rle: { size: [number, number]; counts: string };
  }[];
  selectedId(): number | null;
  currentImage(): { id: number | null; width: number; height: number } | null;
  embeddingState(): string;
  /** Click → mask-drawn timings, newest last. */
  timings(): {
    seq: number;
    t0: number;
    answeredAt: number | null;
    drawnAt: number | null;
    backendMs: number | null;
  }[];
  view(): string;
  /** Where mask pixels are computed: the Web Worker, or the UI-thread fallback. */
  pixelWorker(): 'worker' | 'inline';
  /** Page (client) coordinates of an image pixel under the current zoom/pan, for synthetic clicks. */
  imageToClient(x: number, y: number): { x: number; y: number } | null;
}

declare global {
  interface Window {
    __maskroomTest?: MaskroomTestHook;
  }
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Installs the hook on `window`. */
export function installTestHook(c: Controller, pixelWorker: () => 'worker' | 'inline'): void {
  const s = () => c.store.getState();
  const hook: MaskroomTestHook = {
    candidateRle: () => clone(s().prompt.candidate?.rle ?? null),
    promptPhase: () => s().prompt.phase,
    hoverRle: () => clone(s().prompt.hover?.rle ?? null),
    promptLabels: () => s().prompt.prompts.points.map((p) => p.label),
    annotations: () =>
      clone(
        s().annotations.map((a) => ({
          id: a.id,
          categoryId: a.categoryId,
          status: a.status,
          area: a.area,
          score: a.score,
          rle: a.rle,
        })),
      ),
    selectedId: () => s().selectedId,
    currentImage: () => {
      const st = s();
      return st.currentImage
        ? { id: st.currentImageId, width: st.currentImage.width, height: st.currentImage.height }
        : null;
    },
    embeddingState: () => s().embedding.state,
    timings: () => clone(c.timings),
    view: () => s().view,
    pixelWorker,
    imageToClient: (x, y) => {
      const el = document.querySelector('[data-testid="stage"]');
      if (!el) return null;
      const r = el.getBoundingClientRect();
      const v = s().viewport;
      return { x: r.left + v.x + x * v.scale, y: r.top + v.y + y * v.scale };
    },
  };
  Object.defineProperty(window, '__maskroomTest', {
    value: Object.freeze(hook),
    writable: false,
    configurable: false,
  });
}
