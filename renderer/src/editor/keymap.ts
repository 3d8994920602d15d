// The annotation view's keyboard map as a pure function: a key press plus the bits of state that
// matter → one command (or none). The view runs the command; the mapping is tested in Node.

/** What a key can ask for. */
export type KeyCommand =
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'acceptPrompt' }
  | { type: 'cancelPrompt' }
  | { type: 'cancelStroke' }
  | { type: 'deselect' }
  | { type: 'tool'; tool: 'prompt' | 'brush' | 'eraser' }
  | { type: 'brushRadius'; factor: number }
  | { type: 'stepImage'; delta: 1 | -1 }
  | { type: 'deleteSelected'; id: number }
  | { type: 'toggleHidden'; id: number }
  | { type: 'focusProposal'; delta: 1 | -1 }
  | { type: 'acceptProposal'; id: number }
  | { type: 'rejectProposal'; id: number }
  | { type: 'acceptAboveScore' }
  | { type: 'category'; id: number };

/** The state a key decision depends on. */
export interface KeyContext {
  tool: 'prompt' | 'brush' | 'eraser';
  /** The prompt tool has something to clear (a gesture, points, a box, a candidate, a request). */
  promptActive: boolean;
  painting: boolean;
  selectedId: number | null;
  /** The focused proposal, if it is still a proposal. */
  focusedProposalId: number | null;
  /** Category ids by their number key. */
  categoryByKey: ReadonlyMap<number, number>;
}

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/**
 * Maps a key press to a command. Returns `null` when the key means nothing in this state (the browser
 * then keeps its default, e.g. Backspace with nothing selected).
 */
export function commandForKey(ctx: KeyContext, e: KeyPress): KeyCommand | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && key === 'z') return { type: e.shiftKey ? 'redo' : 'undo' };
  if (mod && key === 'y') return { type: 'redo' };
  if (mod || e.altKey) return null;
  switch (key) {
    case 'Enter':
      return ctx.tool === 'prompt' ? { type: 'acceptPrompt' } : null;
    case 'Escape':
      if (ctx.tool === 'prompt' && ctx.promptActive) return { type: 'cancelPrompt' };
      if (ctx.painting) return { type: 'cancelStroke' };
      return { type: 'deselect' };
    case 'v':
    case 'p':
      return { type: 'tool', tool: 'prompt' };
    case 'b':
      return { type: 'tool', tool: 'brush' };
    case 'e':
      return { type: 'tool', tool: 'eraser' };
    case '[':
      return { type: 'brushRadius', factor: 0.8 };
    case ']':
      return { type: 'brushRadius', factor: 1.25 };
    case 'd':
    case 'ArrowRight':
      return { type: 'stepImage', delta: 1 };
    case 'a':
    case 'ArrowLeft':
      return { type: 'stepImage', delta: -1 };
    case 'Delete':
    case 'Backspace':
      return ctx.selectedId !== null ? { type: 'deleteSelected', id: ctx.selectedId } : null;
    case 'h':
      return ctx.selectedId !== null ? { type: 'toggleHidden', id: ctx.selectedId } : null;
    case 'j':
      return { type: 'focusProposal', delta: 1 };
    case 'k':
      return { type: 'focusProposal', delta: -1 };
    case 'y':
      if (e.shiftKey) return { type: 'acceptAboveScore' };
      return ctx.focusedProposalId !== null ? { type: 'acceptProposal', id: ctx.focusedProposalId } : null;
    case 'n':
      return ctx.focusedProposalId !== null ? { type: 'rejectProposal', id: ctx.focusedProposalId } : null;
  }
  if (/^[1-9]$/.test(key)) {
    const id = ctx.categoryByKey.get(Number(key));
    return id !== undefined ? { type: 'category', id } : null;
  }
  return null;
}
