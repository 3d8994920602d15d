import { describe, expect, it } from 'vitest';
import { BrushDriver } from './testDriver.js';

describe('brush tool', () => {
  it('refuses to paint without a selected annotation', () => {
    const d = new BrushDriver();
    d.pointerDown(1, 1).expectTool('idle');
    expect(d.takeEffects()).toEqual([]);
    expect(d.state.error).toMatch(/Select an annotation/);
  });

  it('paints a stroke into the selected mask and saves it once', () => {
    const d = new BrushDriver('brush', 3);
    d.select('a1')
      .pointerDown(1, 1)
      .expectTool('painting')
      .pointerMove(5, 1)
      .pointerMove(9, 1)
      .pointerUp()
      .expectTool('saving');
    const effs = d.takeEffects();
    expect(effs.map((e) => e.type)).toEqual(['strokeBegin', 'strokeTo', 'strokeTo', 'strokeCommit']);
    expect(effs[1]).toMatchObject({ from: { x: 1, y: 1 }, to: { x: 5, y: 1 }, radius: 3, value: 1 });
    d.saved(effs[0]!.strokeId).expectTool('idle');
  });

  it('erases with value 0 in eraser mode', () => {
    const d = new BrushDriver('eraser');
    d.select('a1').pointerDown(2, 2);
    expect(d.takeEffects()[0]).toMatchObject({ type: 'strokeBegin', value: 0 });
  });

  it('discards the stroke on Esc', () => {
    const d = new BrushDriver();
    d.select('a1').pointerDown(1, 1).pointerMove(2, 2).keyEscape().expectTool('idle');
    expect(d.takeEffects().map((e) => e.type)).toEqual(['strokeBegin', 'strokeTo', 'strokeDiscard']);
  });

  it('discards the stroke when the selection changes mid-stroke', () => {
    const d = new BrushDriver();
    d.select('a1').pointerDown(1, 1).select('a2').expectTool('idle');
    expect(d.takeEffects().at(-1)).toEqual({ type: 'strokeDiscard', strokeId: 1, annotationId: 'a1' });
    expect(d.state.target).toBe('a2');
  });

  it('ignores a save answer for another stroke', () => {
    const d = new BrushDriver();
    d.select('a1')
      .pointerDown(1, 1)
      .pointerUp()
      .saved(99)
      .expectTool('saving')
      .saveFailed(1, 'disk full')
      .expectTool('idle');
    expect(d.state.error).toBe('disk full');
  });
});
