// Actions: the only code that calls the backend. Each action reads the store, calls the typed API, and
// writes the outcome back. Tool machines stay pure; this file runs their effects.
import type { ImageStatus, MaskroomApi, Result, Unsubscribe } from '../../../common/contracts/index.js';
import { stepPrompt, type PromptEffect, type PromptEvent } from '../editor/promptTool.js';
import { stepBrush, type BrushEvent } from '../editor/brushTool.js';
import { BrushRunner } from './brushRunner.js';
import type { PixelClient } from '../pixels/client.js';
import type { RenderedMask } from '../pixels/protocol.js';
import { LatestThrottle } from './hoverThrottle.js';
import { type AppState, type AppStore, type ToolName } from './store.js';

/** How many following images get their embeddings computed ahead of time. */
const PREFETCH_AHEAD = 3;

/** Timing of the last click → mask drawn, for the latency bench and the test hook. */
export interface ClickTiming {
  seq: number;
  t0: number;
  answeredAt: number | null;
  drawnAt: number | null;
  /** Time the backend itself reported for the segment call (engine only, no transport). */
  backendMs: number | null;
}

export class Controller {
  private readonly disposers: Unsubscribe[] = [];
  private readonly hover: LatestThrottle<Extract<PromptEffect, { type: 'hoverSegment' }>>;
  private toastId = 0;
  private readonly brushRunner: BrushRunner;
  /** Click timings by segment seq; read by `window.__maskroomTest`. */
  readonly timings: ClickTiming[] = [];
  private pendingClickT0: number | null = null;

  constructor(
    readonly api: MaskroomApi,
    readonly store: AppStore,
    readonly pixels: PixelClient,
  ) {
    this.hover = new LatestThrottle((eff) => this.runHover(eff));
    this.brushRunner = new BrushRunner({
      api,
      pixels,
      state: () => this.s,
      brushEvent: (ev) => this.brushEvent(ev),
      afterSave: async () => {
        if (this.s.currentImageId !== null) await this.loadAnnotations(this.s.currentImageId);
        this.set((s) => ({ history: { ...s.history, canUndo: true, canRedo: false } }));
      },
      toast: (kind, text) => this.toast(kind, text),
    });
  }

  private get s(): AppState {
    return this.store.getState();
  }

  private set(patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void {
    this.store.setState(patch);
  }

  /** Shows a message for a few seconds. */
  toast(kind: 'info' | 'error', text: string): void {
    const id = ++this.toastId;
    this.set((s) => ({ toasts: [...s.toasts.slice(-3), { id, kind, text }] }));
    setTimeout(
      () => this.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
      kind === 'error' ? 8000 : 4000,
    );
  }

  /** Unwraps a result; on failure shows the error and returns null. */
  private async call<T>(p: Promise<Result<T>>, what: string): Promise<T | null> {
    const r = await p;
    if (r.ok) return r.value;
    this.toast('error', `${what}: ${r.error.message}`);
    return null;
  }

  // ── session ──────────────────────────────────────────────────────────────────────────────────────

  /** Loads host info and the open project, and subscribes to backend events. */
  async start(): Promise<void> {
    const { api } = this;
    this.disposers.push(
      api.jobs.onProgress((job) => {
        this.set((s) => ({ jobs: { ...s.jobs, [job.id]: job } }));
        const ended = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
        if (!ended) return;
        if (job.state === 'failed') this.toast('error', `${job.kind}: ${job.error?.message ?? 'failed'}`);
        void this.refreshImages();
        // Proposals written by a job: show them if they landed on the image on screen.
        const cur = this.s.currentImageId;
        if ((job.kind === 'autoAnnotate' || job.kind === 'boxesToMasks') && cur !== null)
          void this.loadAnnotations(cur);
        if (job.kind === 'modelDownload') void this.refreshProvider();
      }),
      api.projects.onChanged((p) => {
        this.set({ project: p });
        if (!p) this.set({ view: 'projects' });
      }),
      api.images.onChanged(() => void this.refreshImages()),
      api.annotations.onChanged(({ imageIds }) => {
        const cur = this.s.currentImageId;
        if (cur !== null && (imageIds.length === 0 || imageIds.includes(cur))) void this.loadAnnotations(cur);
      }),
      api.categories.onChanged((cats) => this.set({ categories: cats })),
      api.models.onChanged((models) => this.set({ models })),
      api.segmentation.onEmbeddingReady((e) => {
        if (e.imageId === this.s.currentImageId)
          this.set({ embedding: { imageId: e.imageId, state: 'ready', ms: e.ms, cached: e.cached } });
      }),
    );
    const [info, current, recent] = await Promise.all([
      api.app.info(),
      api.projects.current(),
      api.projects.recent(),
    ]);
    if (info.ok) this.set({ appInfo: info.value });
    if (recent.ok) this.set({ recent: recent.value });
    void this.refreshProvider();
    if (current.ok && current.value) await this.enterProject(current.value);
  }

  /** Unsubscribes everything. */
  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
    this.hover.dispose();
  }

  /** After a reconnect: events may have been missed, so refetch what is on screen. */
  async resync(): Promise<void> {
    const cur = await this.api.projects.current();
    if (!cur.ok) return;
    if (!cur.value) {
      this.set({ project: null, view: 'projects', images: [], currentImageId: null });
      return;
    }
    this.set({ project: cur.value });
    await this.refreshImages();
    const id = this.s.currentImageId;
    if (id !== null) await this.loadAnnotations(id);
    await this.refreshProvider();
  }

  async refreshProvider(): Promise<void> {
    const [p, m] = await Promise.all([this.api.models.providerInfo(), this.api.models.list()]);
    if (p.ok) this.set({ provider: p.value });
    if (m.ok) this.set({ models: m.value });
  }

  // ── projects and images ─────────────────────────────────────────────────────────────────────────

  private async enterProject(project: NonNullable<AppState['project']>): Promise<void> {
    this.set({ project, view: 'grid', currentImageId: null, annotations: [] });
    const cats = await this.api.categories.list();
    if (cats.ok)
      this.set({
        categories: cats.value,
        activeCategoryId: this.s.activeCategoryId ?? cats.value[0]?.id ?? null,
      });
    await this.refreshImages();
  }

  async createProject(root: string, name: string): Promise<boolean> {
    const p = await this.call(this.api.projects.create({ root, name }), 'Create project');
    if (p) await this.enterProject(p);
    return p !== null;
  }

  async openProject(root: string): Promise<boolean> {
    const p = await this.call(this.api.projects.open({ root }), 'Open project');
    if (p) await this.enterProject(p);
    return p !== null;
  }

  async closeProject(): Promise<void> {
    await this.call(this.api.projects.close(), 'Close project');
    const recent = await this.api.projects.recent();
    this.set({
      project: null,
      view: 'projects',
      images: [],
      currentImageId: null,
      recent: recent.ok ? recent.value : this.s.recent,
    });
  }

  async importFolder(dir: string): Promise<void> {
    const job = await this.call(this.api.projects.importFolder({ dir, recursive: true }), 'Import');
    if (job) this.set((s) => ({ jobs: { ...s.jobs, [job.id]: job } }));
  }

  async refreshImages(): Promise<void> {
    if (!this.s.project) return;
    const { status, categoryId } = this.s.filter;
    const r = await this.api.images.list({
      ...(status ? { status } : {}),
      ...(categoryId !== null ? { categoryId } : {}),
      offset: 0,
      limit: 10_000,
    });
    if (r.ok) this.set({ images: r.value.items, imagesTotal: r.value.total });
    const st = await this.api.projects.stats();
    if (st.ok) this.set({ stats: st.value });
  }

  async setFilter(filter: Partial<AppState['filter']>): Promise<void> {
    this.set((s) => ({ filter: { ...s.filter, ...filter } }));
    await this.refreshImages();
  }

  showGrid(): void {
    this.promptEvent({ type: 'cancel' });
    this.set({ view: 'grid' });
    void this.refreshImages();
  }

  /** Opens an image in the annotation view and starts its embedding (and the next ones'). */
  async openImage(imageId: number): Promise<void> {
    this.promptEvent({ type: 'cancel' });
    this.brushEvent({ type: 'cancel' });
    this.brushEvent({ type: 'select', annotationId: null });
    this.set({
      view: 'annotate',
      currentImageId: imageId,
      currentImage: null,
      annotations: [],
      selectedId: null,
      hidden: {},
      review: { ...this.s.review, focusId: null },
      embedding: { imageId, state: 'computing', ms: null, cached: false },
    });
    const url = await this.call(this.api.images.url({ imageId }), 'Image');
    if (this.s.currentImageId !== imageId) return;
    if (url) this.set({ currentImage: url });
    await this.loadAnnotations(imageId);
    void this.api.segmentation.prepare({ imageId }).then((r) => {
      if (this.s.currentImageId !== imageId) return;
      this.set({
        embedding: r.ok
          ? { imageId, state: 'ready', ms: r.value.ms, cached: r.value.cached }
          : { imageId, state: 'failed', ms: null, cached: false },
      });
      if (!r.ok) this.toast('error', `Embedding: ${r.error.message}`);
    });
    const idx = this.s.images.findIndex((i) => i.id === imageId);
    const ahead = this.s.images.slice(idx + 1, idx + 1 + PREFETCH_AHEAD).map((i) => i.id);
    if (ahead.length > 0) void this.api.segmentation.prefetch({ imageIds: ahead });
    if (this.s.images[idx]?.status === 'new') void this.setImageStatus('in_progress');
  }

  /** Moves to the next (+1) or previous (−1) image of the filtered list. */
  async stepImage(delta: 1 | -1): Promise<void> {
    const { images, currentImageId } = this.s;
    const idx = images.findIndex((i) => i.id === currentImageId);
    const next = images[idx + delta];
    if (next) await this.openImage(next.id);
  }

  async setImageStatus(status: ImageStatus): Promise<void> {
    const imageId = this.s.currentImageId;
    if (imageId === null) return;
    const r = await this.call(this.api.images.setStatus({ imageId, status }), 'Status');
    if (r) this.set((s) => ({ images: s.images.map((i) => (i.id === r.id ? r : i)) }));
  }

  async loadAnnotations(imageId: number): Promise<void> {
    const r = await this.call(this.api.annotations.list({ imageId }), 'Annotations');
    if (!r || this.s.currentImageId !== imageId) return;
    this.set((s) => ({
      annotations: r,
      selectedId: r.some((a) => a.id === s.selectedId) ? s.selectedId : null,
      images: s.images.map((i) =>
        i.id === imageId
          ? {
              ...i,
              annotationCount: r.filter((a) => a.status === 'accepted').length,
              proposedCount: r.filter((a) => a.status === 'proposed').length,
            }
          : i,
      ),
    }));
  }

  // ── prompt tool ─────────────────────────────────────────────────────────────────────────────────

  /** Feeds the prompt tool one event and runs what it asks for. */
  promptEvent(ev: PromptEvent, at?: number): void {
    // t0 of a click is the pointer-up event's own timestamp: that is when the request goes out.
    if (ev.type === 'pointerUp') this.pendingClickT0 = at ?? performance.now();
    const r = stepPrompt(this.s.prompt, ev);
    if (r.state !== this.s.prompt) this.set({ prompt: r.state });
    if (ev.type === 'pointerLeave') this.hover.clear();
    for (const eff of r.effects) void this.runPromptEffect(eff);
  }

  private async runPromptEffect(eff: PromptEffect): Promise<void> {
    const imageId = this.s.currentImageId;
    if (imageId === null) return;
    switch (eff.type) {
      case 'segment': {
        const timing: ClickTiming = {
          seq: eff.seq,
          t0: this.pendingClickT0 ?? performance.now(),
          answeredAt: null,
          drawnAt: null,
          backendMs: null,
        };
        this.recordTiming(timing);
        const { points, box } = eff.prompts;
        // One click is ambiguous (part / whole): ask for SAM's three candidates and take the best-scored
        // (they come best first), as SAM's predictor recommends; more prompts use the single output.
        const r = await this.api.segmentation.segment({
          imageId,
          points,
          ...(box ? { box } : {}),
          multimask: points.length === 1 && !box,
        });
        timing.answeredAt = performance.now();
        if (r.ok) timing.backendMs = r.value.ms;
        if (this.s.currentImageId !== imageId) return;
        if (r.ok && r.value.candidates[0]) {
          const c = r.value.candidates[0];
          this.promptEvent({
            type: 'maskResult',
            seq: eff.seq,
            mask: { rle: c.rle, score: c.score, seq: eff.seq },
          });
        } else {
          this.promptEvent({ type: 'maskError', seq: eff.seq, message: r.ok ? 'no mask' : r.error.message });
          if (!r.ok) this.toast('error', `Segment: ${r.error.message}`);
        }
        return;
      }
      case 'hoverSegment':
        this.hover.submit(eff);
        return;
      case 'adoptHover': {
        const now = performance.now();
        this.recordTiming({
          seq: eff.seq,
          t0: this.pendingClickT0 ?? now,
          answeredAt: eff.answered ? now : null,
          drawnAt: null,
          backendMs: null,
        });
        return;
      }
      case 'accept': {
        const source = eff.prompts.box && eff.prompts.points.length === 0 ? 'box' : 'click';
        const a = await this.call(
          this.api.annotations.create({
            imageId,
            categoryId: this.s.activeCategoryId,
            rle: eff.mask.rle,
            score: eff.mask.score,
            source,
          }),
          'Save annotation',
        );
        if (a && this.s.currentImageId === imageId) {
          this.set((s) => ({
            annotations: [...s.annotations, a],
            history: { ...s.history, canUndo: true, canRedo: false },
          }));
          await this.loadAnnotations(imageId);
        }
        return;
      }
    }
  }

  private async runHover(eff: Extract<PromptEffect, { type: 'hoverSegment' }>): Promise<void> {
    const imageId = this.s.currentImageId;
    const p = this.s.prompt;
    // Skip a hover nobody wants any more, unless a click adopted it as its answer.
    if (imageId === null || (p.hoverSeq !== eff.seq && p.pendingSeq !== eff.seq)) return;
    const r = await this.api.segmentation.segment({
      imageId,
      points: [{ x: eff.x, y: eff.y, label: 1 }],
      multimask: true,
    });
    if (this.s.currentImageId !== imageId) return;
    const t = this.timings.find((x) => x.seq === eff.seq);
    if (t && t.answeredAt === null) {
      t.answeredAt = performance.now();
      if (r.ok) t.backendMs = r.value.ms;
    }
    const c = r.ok ? r.value.candidates[0] : undefined;
    this.promptEvent({ type: 'hoverResult', seq: eff.seq, mask: c ? { rle: c.rle, score: c.score } : null });
  }

  private recordTiming(t: ClickTiming): void {
    this.timings.push(t);
    if (this.timings.length > 500) this.timings.splice(0, this.timings.length - 500);
  }

  /** Called by the view once the candidate of `seq` is on screen (after Konva drew and a frame passed). */
  markDrawn(seq: number): void {
    const t = this.timings.find((x) => x.seq === seq);
    if (t && t.drawnAt === null) t.drawnAt = performance.now();
  }

  // ── tools, selection, brush ─────────────────────────────────────────────────────────────────────

  setTool(tool: ToolName): void {
    this.promptEvent({ type: 'cancel' });
    this.brushEvent({ type: 'cancel' });
    if (tool !== 'prompt') this.brushEvent({ type: 'setMode', mode: tool });
    this.set({ tool });
  }

  select(id: number | null): void {
    this.set({ selectedId: id });
    this.brushEvent({ type: 'select', annotationId: id === null ? null : String(id) });
  }

  toggleHidden(id: number): void {
    this.set((s) => {
      const hidden = { ...s.hidden };
      if (hidden[id]) delete hidden[id];
      else hidden[id] = true;
      return { hidden };
    });
  }

  onBrushPreview(cb: () => void): Unsubscribe {
    return this.brushRunner.onPreview(cb);
  }

  /** Brush preview bitmap while a stroke is being painted (derived pixels, not document state). */
  get brushPreview(): RenderedMask | null {
    return this.brushRunner.preview;
  }

  /** Feeds the brush tool one event and runs what it asks for. */
  brushEvent(ev: BrushEvent): void {
    const r = stepBrush(this.s.brush, ev);
    if (r.state !== this.s.brush) this.set({ brush: r.state });
    for (const eff of r.effects) void this.brushRunner.run(eff);
  }

  // ── annotations ─────────────────────────────────────────────────────────────────────────────────

  async relabel(ids: number[], categoryId: number | null): Promise<void> {
    if (ids.length === 0) return;
    const r = await this.call(this.api.annotations.relabel({ ids, categoryId }), 'Relabel');
    if (r && this.s.currentImageId !== null) await this.loadAnnotations(this.s.currentImageId);
  }

  async deleteAnnotations(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    const r = await this.call(this.api.annotations.delete({ ids }), 'Delete');
    if (r && this.s.currentImageId !== null) {
      if (ids.includes(this.s.selectedId ?? -1)) this.select(null);
      await this.loadAnnotations(this.s.currentImageId);
    }
  }

  /** Undo (−1) or redo (+1) through the backend's project history. */
  async history(direction: 'undo' | 'redo'): Promise<void> {
    this.promptEvent({ type: 'cancel' });
    const r = await this.call(
      direction === 'undo' ? this.api.annotations.undo() : this.api.annotations.redo(),
      direction === 'undo' ? 'Undo' : 'Redo',
    );
    if (!r) return;
    this.set({ history: { canUndo: r.canUndo, canRedo: r.canRedo, label: r.label } });
    if (!r.changed) {
      this.toast('info', direction === 'undo' ? 'Nothing to undo' : 'Nothing to redo');
      return;
    }
    if (r.label) this.toast('info', `${direction === 'undo' ? 'Undid' : 'Redid'}: ${r.label}`);
    const cur = this.s.currentImageId;
    if (cur !== null && (r.imageIds.length === 0 || r.imageIds.includes(cur)))
      await this.loadAnnotations(cur);
    else if (r.imageIds.length === 1) await this.openImage(r.imageIds[0]!);
  }

  // ── categories ──────────────────────────────────────────────────────────────────────────────────

  setActiveCategory(id: number | null): void {
    this.set({ activeCategoryId: id });
    // With a selection, choosing a category relabels it: keys 1–9 work for both.
    const sel = this.s.selectedId;
    const ann = this.s.annotations.find((a) => a.id === sel);
    if (ann && ann.categoryId !== id) void this.relabel([ann.id], id);
  }

  async createCategory(name: string, color?: string): Promise<void> {
    const used = new Set(this.s.categories.map((c) => c.key));
    const key = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((k) => !used.has(k)) ?? null;
    const c = await this.call(
      this.api.categories.create({ name, key, ...(color ? { color } : {}) }),
      'Category',
    );
    if (!c) return;
    this.set((s) => ({
      categories: [...s.categories.filter((x) => x.id !== c.id), c],
      activeCategoryId: c.id,
    }));
  }

  async updateCategory(id: number, patch: { name?: string; color?: string }): Promise<void> {
    const c = await this.call(this.api.categories.update({ id, ...patch }), 'Category');
    if (c) this.set((s) => ({ categories: s.categories.map((x) => (x.id === c.id ? c : x)) }));
  }

  async deleteCategory(id: number): Promise<void> {
    // delete's value is null, so success is read from the envelope rather than through call().
    const r = await this.api.categories.delete({ id });
    if (!r.ok) {
      this.toast('error', `Category: ${r.error.message}`);
      return;
    }
    const cats = await this.api.categories.list();
    if (cats.ok)
      this.set((s) => ({
        categories: cats.value,
        activeCategoryId: s.activeCategoryId === id ? null : s.activeCategoryId,
      }));
  }

  // ── review of proposals ─────────────────────────────────────────────────────────────────────────

  async acceptProposals(sel: { ids?: number[]; all?: boolean; minScore?: number }): Promise<void> {
    const imageId = this.s.currentImageId;
    if (imageId === null) return;
    const r = await this.call(
      this.api.annotations.accept({
        ...(sel.ids ? { ids: sel.ids } : { imageId }),
        ...(sel.minScore !== undefined ? { minScore: sel.minScore } : {}),
      }),
      'Accept',
    );
    if (r) {
      this.toast('info', `Accepted ${r.accepted}`);
      await this.loadAnnotations(imageId);
    }
  }

  async rejectProposals(sel: { ids?: number[]; all?: boolean; maxScore?: number }): Promise<void> {
    const imageId = this.s.currentImageId;
    if (imageId === null) return;
    const r = await this.call(
      this.api.annotations.reject({
        ...(sel.ids ? { ids: sel.ids } : { imageId }),
        ...(sel.maxScore !== undefined ? { maxScore: sel.maxScore } : {}),
      }),
      'Reject',
    );
    if (r) {
      this.toast('info', `Rejected ${r.rejected}`);
      await this.loadAnnotations(imageId);
    }
  }

  /** Moves the review focus to the next (+1) / previous (−1) proposal. */
  focusProposal(delta: 1 | -1): void {
    const list = this.s.annotations
      .filter((a) => a.status === 'proposed')
      .sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
    if (list.length === 0) return;
    const i = list.findIndex((a) => a.id === this.s.review.focusId);
    const next = list[(i + delta + list.length) % list.length]!;
    this.set((s) => ({ review: { ...s.review, focusId: next.id } }));
  }

  async startAutoAnnotate(allImages: boolean): Promise<void> {
    const imageId = this.s.currentImageId;
    const images = allImages || imageId === null ? { all: true as const } : { imageIds: [imageId] };
    const job = await this.call(
      this.api.jobs.startAutoAnnotate({
        images,
        params: { categoryId: this.s.activeCategoryId, pointsPerSide: this.s.review.pointsPerSide },
      }),
      'Auto-annotate',
    );
    if (job) this.set((s) => ({ jobs: { ...s.jobs, [job.id]: job } }));
  }

  // ── dialogs ─────────────────────────────────────────────────────────────────────────────────────

  openDialog(dialog: AppState['dialog']): void {
    this.set({ dialog });
    if (dialog === 'models') void this.refreshProvider();
  }
}
