import { describe, expect, it } from 'vitest';
import { commandForKey, type KeyContext, type KeyPress } from './keymap.js';

const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  tool: 'prompt',
  promptActive: false,
  painting: false,
  selectedId: null,
  focusedProposalId: null,
  categoryByKey: new Map([
    [1, 10],
    [2, 20],
  ]),
  ...over,
});
const key = (k: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe('annotation keymap', () => {
  it('undoes with Ctrl+Z and redoes with Ctrl+Shift+Z, Cmd+Z or Ctrl+Y', () => {
    expect(commandForKey(ctx(), key('z', { ctrlKey: true }))).toEqual({ type: 'undo' });
    expect(commandForKey(ctx(), key('Z', { ctrlKey: true, shiftKey: true }))).toEqual({ type: 'redo' });
    expect(commandForKey(ctx(), key('z', { metaKey: true }))).toEqual({ type: 'undo' });
    expect(commandForKey(ctx(), key('y', { ctrlKey: true }))).toEqual({ type: 'redo' });
  });

  it('clears the prompt on Esc first, then the stroke, then the selection', () => {
    expect(commandForKey(ctx({ promptActive: true }), key('Escape'))).toEqual({ type: 'cancelPrompt' });
    expect(commandForKey(ctx({ tool: 'brush', painting: true }), key('Escape'))).toEqual({
      type: 'cancelStroke',
    });
    expect(commandForKey(ctx({ selectedId: 3 }), key('Escape'))).toEqual({ type: 'deselect' });
  });

  it('accepts with Enter only in the prompt tool', () => {
    expect(commandForKey(ctx(), key('Enter'))).toEqual({ type: 'acceptPrompt' });
    expect(commandForKey(ctx({ tool: 'brush' }), key('Enter'))).toBeNull();
  });

  it('picks the category of a number key, and nothing for an unassigned one', () => {
    expect(commandForKey(ctx(), key('2'))).toEqual({ type: 'category', id: 20 });
    expect(commandForKey(ctx(), key('7'))).toBeNull();
  });

  it('moves between images with D/A and the arrows', () => {
    expect(commandForKey(ctx(), key('d'))).toEqual({ type: 'stepImage', delta: 1 });
    expect(commandForKey(ctx(), key('ArrowLeft'))).toEqual({ type: 'stepImage', delta: -1 });
  });

  it('reviews the focused proposal with Y/N and everything above the score with Shift+Y', () => {
    expect(commandForKey(ctx({ focusedProposalId: 5 }), key('y'))).toEqual({ type: 'acceptProposal', id: 5 });
    expect(commandForKey(ctx({ focusedProposalId: 5 }), key('n'))).toEqual({ type: 'rejectProposal', id: 5 });
    expect(commandForKey(ctx(), key('y'))).toBeNull();
    expect(commandForKey(ctx(), key('Y', { shiftKey: true }))).toEqual({ type: 'acceptAboveScore' });
  });

  it('deletes or hides only with a selection', () => {
    expect(commandForKey(ctx(), key('Delete'))).toBeNull();
    expect(commandForKey(ctx({ selectedId: 9 }), key('Delete'))).toEqual({ type: 'deleteSelected', id: 9 });
    expect(commandForKey(ctx({ selectedId: 9 }), key('h'))).toEqual({ type: 'toggleHidden', id: 9 });
  });

  it('leaves Alt combinations and unknown keys to the browser', () => {
    expect(commandForKey(ctx(), key('d', { altKey: true }))).toBeNull();
    expect(commandForKey(ctx(), key('q'))).toBeNull();
  });
});
