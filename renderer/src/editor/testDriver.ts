// Test driver for the editor's tool machines (tldraw's TestEditor idea): drive with pointer/keyboard
// verbs, assert on the phase and the effects the controller would run. DOM-free, runs in Node.
import {
  initialPromptState,
  stepPrompt,
  type MaskAnswer,
  type PromptEffect,
  type PromptPhase,
  type PromptToolState,
} from './promptTool.js';
import {
  initialBrushState,
  stepBrush,
  type BrushEffect,
  type BrushMode,
  type BrushPhase,
  type BrushToolState,
} from './brushTool.js';

/** Drives the prompt tool; `effects` accumulates everything emitted since the last `takeEffects()`. */
export class PromptDriver {
  state: PromptToolState = initialPromptState();
  effects: PromptEffect[] = [];
  embeddingReady = true;

  private apply(ev: Parameters<typeof stepPrompt>[1]): this {
    const r = stepPrompt(this.state, ev);
    this.state = r.state;
    this.effects.push(...r.effects);
    return this;
  }
  pointerDown(x: number, y: number, opts: { negative?: boolean } = {}): this {
    return this.apply({ type: 'pointerDown', x, y, negative: opts.negative ?? false });
  }
  pointerMove(x: number, y: number): this {
    return this.apply({ type: 'pointerMove', x, y, embeddingReady: this.embeddingReady });
  }
  pointerUp(x: number, y: number): this {
    return this.apply({ type: 'pointerUp', x, y });
  }
  click(x: number, y: number, opts: { negative?: boolean } = {}): this {
    return this.pointerDown(x, y, opts).pointerUp(x, y);
  }
  drag(x0: number, y0: number, x1: number, y1: number): this {
    return this.pointerDown(x0, y0)
      .pointerMove((x0 + x1) / 2, (y0 + y1) / 2)
      .pointerMove(x1, y1)
      .pointerUp(x1, y1);
  }
  answer(seq: number, mask: MaskAnswer): this {
    return this.apply({ type: 'maskResult', seq, mask });
  }
  fail(seq: number, message: string): this {
    return this.apply({ type: 'maskError', seq, message });
  }
  hoverAnswer(seq: number, mask: MaskAnswer | null): this {
    return this.apply({ type: 'hoverResult', seq, mask });
  }
  keyEnter(): this {
    return this.apply({ type: 'accept' });
  }
  keyEscape(): this {
    return this.apply({ type: 'cancel' });
  }
  expectTool(phase: PromptPhase): this {
    if (this.state.phase !== phase) throw new Error(`expected tool phase ${phase}, got ${this.state.phase}`);
    return this;
  }
  takeEffects(): PromptEffect[] {
    const e = this.effects;
    this.effects = [];
    return e;
  }
  /** The sequence id of the last segment request emitted. */
  lastSegmentSeq(): number {
    const segs = this.effects.filter((e) => e.type === 'segment');
    const last = segs[segs.length - 1];
    if (!last) throw new Error('no segment request was emitted');
    return last.seq;
  }
}

/** Drives the brush tool. */
export class BrushDriver {
  state: BrushToolState;
  effects: BrushEffect[] = [];
  constructor(mode: BrushMode = 'brush', radius = 5) {
    this.state = initialBrushState(mode, radius);
  }
  private apply(ev: Parameters<typeof stepBrush>[1]): this {
    const r = stepBrush(this.state, ev);
    this.state = r.state;
    this.effects.push(...r.effects);
    return this;
  }
  select(id: string | null): this {
    return this.apply({ type: 'select', annotationId: id });
  }
  setMode(mode: BrushMode): this {
    return this.apply({ type: 'setMode', mode });
  }
  pointerDown(x: number, y: number): this {
    return this.apply({ type: 'pointerDown', x, y });
  }
  pointerMove(x: number, y: number): this {
    return this.apply({ type: 'pointerMove', x, y });
  }
  pointerUp(): this {
    return this.apply({ type: 'pointerUp' });
  }
  saved(strokeId: number): this {
    return this.apply({ type: 'saved', strokeId });
  }
  saveFailed(strokeId: number, message: string): this {
    return this.apply({ type: 'saveFailed', strokeId, message });
  }
  keyEscape(): this {
    return this.apply({ type: 'cancel' });
  }
  expectTool(phase: BrushPhase): this {
    if (this.state.phase !== phase) throw new Error(`expected brush phase ${phase}, got ${this.state.phase}`);
    return this;
  }
  takeEffects(): BrushEffect[] {
    const e = this.effects;
    this.effects = [];
    return e;
  }
}
