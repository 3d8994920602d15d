// The brush/eraser tool: paints into the selected annotation's mask buffer (held by the pixel worker),
// then re-encodes and saves it as one undo step. Pure state machine; the controller runs the effects.

export type BrushMode = 'brush' | 'eraser';
export type BrushPhase = 'idle' | 'painting' | 'saving';

export interface BrushToolState {
  phase: BrushPhase;
  mode: BrushMode;
  /** Radius in image pixels. */
  radius: number;
  /** The annotation being painted; null when nothing is selected. */
  target: string | null;
  last: { x: number; y: number } | null;
  /** Id of the stroke in progress or being saved; the save answer must match it. */
  strokeId: number;
  error: string | null;
}

export type BrushEvent =
  | { type: 'select'; annotationId: string | null }
  | { type: 'setMode'; mode: BrushMode }
  | { type: 'setRadius'; radius: number }
  | { type: 'pointerDown'; x: number; y: number }
  | { type: 'pointerMove'; x: number; y: number }
  | { type: 'pointerUp' }
  | { type: 'saved'; strokeId: number }
  | { type: 'saveFailed'; strokeId: number; message: string }
  | { type: 'cancel' };

export type BrushEffect =
  | {
      type: 'strokeBegin';
      strokeId: number;
      annotationId: string;
      x: number;
      y: number;
      radius: number;
      value: 0 | 1;
    }
  | {
      type: 'strokeTo';
      strokeId: number;
      from: { x: number; y: number };
      to: { x: number; y: number };
      radius: number;
      value: 0 | 1;
    }
  | { type: 'strokeCommit'; strokeId: number; annotationId: string }
  | { type: 'strokeDiscard'; strokeId: number; annotationId: string };

export interface BrushStep {
  state: BrushToolState;
  effects: BrushEffect[];
}

/** Smallest and largest brush radius in image pixels. */
export const MIN_RADIUS = 1;
export const MAX_RADIUS = 200;

/** Returns the initial brush state. */
export function initialBrushState(mode: BrushMode = 'brush', radius = 12): BrushToolState {
  return { phase: 'idle', mode, radius, target: null, last: null, strokeId: 0, error: null };
}

/** Advances the brush tool by one event. */
export function stepBrush(s: BrushToolState, e: BrushEvent): BrushStep {
  const value: 0 | 1 = s.mode === 'brush' ? 1 : 0;
  switch (e.type) {
    case 'select':
      // Switching the target mid-stroke would paint into the wrong mask: the stroke is discarded.
      if (s.phase === 'painting' && s.target && e.annotationId !== s.target) {
        return {
          state: { ...s, phase: 'idle', target: e.annotationId, last: null },
          effects: [{ type: 'strokeDiscard', strokeId: s.strokeId, annotationId: s.target }],
        };
      }
      return { state: { ...s, target: e.annotationId }, effects: [] };
    case 'setMode':
      return { state: s.phase === 'painting' ? s : { ...s, mode: e.mode }, effects: [] };
    case 'setRadius':
      return {
        state: { ...s, radius: Math.min(MAX_RADIUS, Math.max(MIN_RADIUS, Math.round(e.radius))) },
        effects: [],
      };
    case 'pointerDown': {
      if (s.phase !== 'idle') return { state: s, effects: [] };
      if (!s.target) return { state: { ...s, error: 'Select an annotation to paint into.' }, effects: [] };
      const strokeId = s.strokeId + 1;
      return {
        state: { ...s, phase: 'painting', strokeId, last: { x: e.x, y: e.y }, error: null },
        effects: [
          { type: 'strokeBegin', strokeId, annotationId: s.target, x: e.x, y: e.y, radius: s.radius, value },
        ],
      };
    }
    case 'pointerMove': {
      if (s.phase !== 'painting' || !s.last) return { state: s, effects: [] };
      const to = { x: e.x, y: e.y };
      return {
        state: { ...s, last: to },
        effects: [{ type: 'strokeTo', strokeId: s.strokeId, from: s.last, to, radius: s.radius, value }],
      };
    }
    case 'pointerUp':
      if (s.phase !== 'painting' || !s.target) return { state: s, effects: [] };
      return {
        state: { ...s, phase: 'saving', last: null },
        effects: [{ type: 'strokeCommit', strokeId: s.strokeId, annotationId: s.target }],
      };
    case 'saved':
      if (s.phase !== 'saving' || e.strokeId !== s.strokeId) return { state: s, effects: [] };
      return { state: { ...s, phase: 'idle' }, effects: [] };
    case 'saveFailed':
      if (s.phase !== 'saving' || e.strokeId !== s.strokeId) return { state: s, effects: [] };
      return { state: { ...s, phase: 'idle', error: e.message }, effects: [] };
    case 'cancel':
      if (s.phase === 'painting' && s.target) {
        return {
          state: { ...s, phase: 'idle', last: null },
          effects: [{ type: 'strokeDiscard', strokeId: s.strokeId, annotationId: s.target }],
        };
      }
      return { state: s, effects: [] };
  }
}
