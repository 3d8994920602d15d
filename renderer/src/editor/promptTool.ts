// The prompt tool: clicks and boxes become SAM prompts, the backend answers with a candidate mask.
// Pure state machine (no DOM, no timers): `step(state, event)` returns the next state and the effects
// the controller must run. Sequence numbers make "only the latest request counts" a property of the
// machine, so stale answers are dropped here and tested here.

/** A point prompt in image pixels; label 1 = positive (inside), 0 = negative (outside). */
export interface PointPrompt {
  x: number;
  y: number;
  label: 0 | 1;
}

/** A box prompt in image pixels, normalized so x0 ≤ x1 and y0 ≤ y1. */
export interface BoxPrompt {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Everything the user has said about the object being segmented. */
export interface Prompts {
  points: PointPrompt[];
  box: BoxPrompt | null;
}

/** A mask as the backend sends it: COCO RLE (compressed string counts) plus its score. */
export interface MaskAnswer {
  rle: { size: [number, number]; counts: string };
  score: number;
  /** Sequence id of the request that produced it (for latency measurement). */
  seq?: number;
}

export type PromptPhase = 'idle' | 'pointing' | 'boxing' | 'awaitingMask' | 'reviewing';

export interface PromptToolState {
  phase: PromptPhase;
  prompts: Prompts;
  /** The pointer gesture in progress (pointing/boxing), in image pixels. */
  gesture: { x0: number; y0: number; x1: number; y1: number; label: 0 | 1 } | null;
  /** Sequence id of the segment request whose answer we still want; older answers are stale. */
  pendingSeq: number | null;
  /** The latest mask for the current prompts. Kept on screen while a newer request is in flight. */
  candidate: MaskAnswer | null;
  /** Live preview under the pointer (only while there are no prompts). */
  hover: MaskAnswer | null;
  hoverSeq: number | null;
  /** Where the latest hover request was made: a click there reuses its answer. */
  hoverPoint: { x: number; y: number } | null;
  /** Enter pressed while a request was in flight: accept as soon as the answer lands. */
  acceptWhenReady: boolean;
  /** Monotonic counter for request sequence ids. */
  seq: number;
  error: string | null;
}

export type PromptEvent =
  | { type: 'pointerDown'; x: number; y: number; negative: boolean }
  | { type: 'pointerMove'; x: number; y: number; embeddingReady: boolean }
  | { type: 'pointerUp'; x: number; y: number }
  | { type: 'pointerLeave' }
  | { type: 'maskResult'; seq: number; mask: MaskAnswer }
  | { type: 'maskError'; seq: number; message: string }
  | { type: 'hoverResult'; seq: number; mask: MaskAnswer | null }
  | { type: 'accept' }
  | { type: 'cancel' };

export type PromptEffect =
  | { type: 'segment'; seq: number; prompts: Prompts }
  | { type: 'hoverSegment'; seq: number; x: number; y: number }
  /**
   * A click landed where the hover preview was computed: the preview's request (`seq`) becomes the
   * click's answer, already there (`answered`) or still in flight, and no new request is sent.
   */
  | { type: 'adoptHover'; seq: number; prompts: Prompts; answered: boolean }
  | { type: 'accept'; mask: MaskAnswer; prompts: Prompts };

export interface PromptStep {
  state: PromptToolState;
  effects: PromptEffect[];
}

/** A press that moves less than this (image pixels) is a click; more is a box drag. */
export const DRAG_THRESHOLD = 4;

/** A click this close (image pixels) to the hover request's point is the same prompt. */
export const HOVER_REUSE_DISTANCE = 1.5;

/** Returns the initial, empty prompt tool state. `seq` carries over so ids never repeat in a session. */
export function initialPromptState(seq = 0): PromptToolState {
  return {
    phase: 'idle',
    prompts: { points: [], box: null },
    gesture: null,
    pendingSeq: null,
    candidate: null,
    hover: null,
    hoverSeq: null,
    hoverPoint: null,
    acceptWhenReady: false,
    seq,
    error: null,
  };
}

function hasPrompts(p: Prompts): boolean {
  return p.points.length > 0 || p.box !== null;
}

function normBox(g: { x0: number; y0: number; x1: number; y1: number }): BoxPrompt {
  return {
    x0: Math.min(g.x0, g.x1),
    y0: Math.min(g.y0, g.y1),
    x1: Math.max(g.x0, g.x1),
    y1: Math.max(g.y0, g.y1),
  };
}

/** The phase to return to when a gesture ends without a new request. */
function restingPhase(s: PromptToolState): PromptPhase {
  if (s.pendingSeq !== null) return 'awaitingMask';
  return s.candidate ? 'reviewing' : 'idle';
}

/**
 * Advances the prompt tool by one event. Pure: the same (state, event) always gives the same result.
 * @param dragThreshold image-pixel distance that turns a press into a box drag (the view scales it by zoom).
 */
export function stepPrompt(s: PromptToolState, e: PromptEvent, dragThreshold = DRAG_THRESHOLD): PromptStep {
  switch (e.type) {
    case 'pointerDown': {
      if (s.phase === 'pointing' || s.phase === 'boxing') return { state: s, effects: [] };
      const label: 0 | 1 = e.negative ? 0 : 1;
      // The hover preview stays: a click on the same spot adopts it instead of asking again.
      return {
        state: { ...s, phase: 'pointing', gesture: { x0: e.x, y0: e.y, x1: e.x, y1: e.y, label } },
        effects: [],
      };
    }
    case 'pointerMove': {
      if (s.phase === 'pointing' || s.phase === 'boxing') {
        const g = { ...s.gesture!, x1: e.x, y1: e.y };
        const far = Math.hypot(g.x1 - g.x0, g.y1 - g.y0) > dragThreshold;
        // Only a positive press becomes a box: a right/Alt drag stays a negative point.
        const phase = s.phase === 'boxing' || (far && g.label === 1) ? 'boxing' : 'pointing';
        return { state: { ...s, phase, gesture: g }, effects: [] };
      }
      if (s.phase === 'idle' && !hasPrompts(s.prompts) && e.embeddingReady) {
        const seq = s.seq + 1;
        return {
          state: { ...s, seq, hoverSeq: seq, hoverPoint: { x: e.x, y: e.y } },
          effects: [{ type: 'hoverSegment', seq, x: e.x, y: e.y }],
        };
      }
      return { state: s, effects: [] };
    }
    case 'pointerUp': {
      if (s.phase !== 'pointing' && s.phase !== 'boxing') return { state: s, effects: [] };
      const g = { ...s.gesture!, x1: e.x, y1: e.y };
      let prompts: Prompts;
      if (s.phase === 'boxing') {
        const box = normBox(g);
        if (box.x1 - box.x0 < 1 || box.y1 - box.y0 < 1) {
          return { state: { ...s, phase: restingPhase(s), gesture: null }, effects: [] };
        }
        prompts = { points: s.prompts.points, box };
      } else {
        prompts = { points: [...s.prompts.points, { x: g.x0, y: g.y0, label: g.label }], box: s.prompts.box };
      }
      if (!prompts.points.some((p) => p.label === 1) && prompts.box === null) {
        // Negative points alone describe no object; keep them but ask nothing yet.
        return { state: { ...s, phase: restingPhase(s), gesture: null, prompts }, effects: [] };
      }
      const noHover = { hover: null, hoverSeq: null, hoverPoint: null };
      const adoptable =
        s.phase === 'pointing' &&
        !hasPrompts(s.prompts) &&
        g.label === 1 &&
        s.hoverSeq !== null &&
        s.hoverPoint !== null &&
        Math.hypot(s.hoverPoint.x - g.x0, s.hoverPoint.y - g.y0) <= HOVER_REUSE_DISTANCE;
      if (adoptable) {
        const seq = s.hoverSeq!;
        const answered = s.hover !== null;
        const base = { ...s, ...noHover, gesture: null, prompts, error: null };
        return {
          state: answered
            ? { ...base, phase: 'reviewing', candidate: { ...s.hover!, seq }, pendingSeq: null }
            : { ...base, phase: 'awaitingMask', pendingSeq: seq },
          effects: [{ type: 'adoptHover', seq, prompts, answered }],
        };
      }
      const seq = s.seq + 1;
      return {
        state: {
          ...s,
          ...noHover,
          phase: 'awaitingMask',
          gesture: null,
          prompts,
          seq,
          pendingSeq: seq,
          error: null,
        },
        effects: [{ type: 'segment', seq, prompts }],
      };
    }
    case 'pointerLeave': {
      if (s.phase === 'idle' && (s.hover || s.hoverSeq !== null))
        return { state: { ...s, hover: null, hoverSeq: null, hoverPoint: null }, effects: [] };
      return { state: s, effects: [] };
    }
    case 'maskResult': {
      if (e.seq !== s.pendingSeq) return { state: s, effects: [] };
      const gestureOn = s.phase === 'pointing' || s.phase === 'boxing';
      const next: PromptToolState = {
        ...s,
        pendingSeq: null,
        candidate: e.mask,
        phase: gestureOn ? s.phase : 'reviewing',
      };
      if (s.acceptWhenReady && !gestureOn) return accept(next);
      return { state: next, effects: [] };
    }
    case 'maskError': {
      if (e.seq !== s.pendingSeq) return { state: s, effects: [] };
      const next = { ...s, pendingSeq: null, acceptWhenReady: false, error: e.message };
      return {
        state: { ...next, phase: s.phase === 'awaitingMask' ? restingPhase(next) : s.phase },
        effects: [],
      };
    }
    case 'hoverResult': {
      // An adopted hover request answers the click.
      if (e.seq === s.pendingSeq) {
        return e.mask
          ? stepPrompt(s, { type: 'maskResult', seq: e.seq, mask: { ...e.mask, seq: e.seq } }, dragThreshold)
          : stepPrompt(s, { type: 'maskError', seq: e.seq, message: 'no mask at this point' }, dragThreshold);
      }
      if (e.seq !== s.hoverSeq || hasPrompts(s.prompts) || (s.phase !== 'idle' && s.phase !== 'pointing'))
        return { state: s, effects: [] };
      return { state: { ...s, hover: e.mask }, effects: [] };
    }
    case 'accept': {
      if (s.phase === 'awaitingMask') return { state: { ...s, acceptWhenReady: true }, effects: [] };
      if (s.phase === 'reviewing') return accept(s);
      return { state: s, effects: [] };
    }
    case 'cancel': {
      // Esc during a gesture drops only the gesture; otherwise it clears the whole prompt, and any
      // answer still in flight becomes stale because pendingSeq is cleared.
      if (s.phase === 'pointing' || s.phase === 'boxing') {
        return { state: { ...s, phase: restingPhase(s), gesture: null }, effects: [] };
      }
      return { state: initialPromptState(s.seq), effects: [] };
    }
  }
}

function accept(s: PromptToolState): PromptStep {
  if (!s.candidate) return { state: s, effects: [] };
  return {
    state: initialPromptState(s.seq),
    effects: [{ type: 'accept', mask: s.candidate, prompts: s.prompts }],
  };
}
