import { describe, expect, it } from 'vitest';
import { PromptDriver } from './testDriver.js';
import type { MaskAnswer } from './promptTool.js';

const maskA: MaskAnswer = { rle: { size: [10, 10], counts: 'A' }, score: 0.9 };
const maskB: MaskAnswer = { rle: { size: [10, 10], counts: 'B' }, score: 0.8 };

describe('prompt tool', () => {
  it('turns a click into a positive point and waits for the mask', () => {
    const d = new PromptDriver();
    d.pointerDown(5, 6).expectTool('pointing').pointerUp(5, 6).expectTool('awaitingMask');
    const [eff] = d.takeEffects();
    expect(eff).toEqual({
      type: 'segment',
      seq: 1,
      prompts: { points: [{ x: 5, y: 6, label: 1 }], box: null },
    });
    d.answer(1, maskA).expectTool('reviewing');
    expect(d.state.candidate).toBe(maskA);
  });

  it('makes a negative point from an Alt/right click and adds it to the existing prompt', () => {
    const d = new PromptDriver();
    d.click(5, 5);
    d.answer(d.lastSegmentSeq(), maskA);
    d.takeEffects();
    d.click(8, 8, { negative: true });
    const [eff] = d.takeEffects();
    expect(eff?.type === 'segment' && eff.prompts.points).toEqual([
      { x: 5, y: 5, label: 1 },
      { x: 8, y: 8, label: 0 },
    ]);
  });

  it('does not ask for a mask from negative points alone', () => {
    const d = new PromptDriver();
    d.click(3, 3, { negative: true }).expectTool('idle');
    expect(d.takeEffects()).toEqual([]);
    expect(d.state.prompts.points).toHaveLength(1);
  });

  it('turns a drag into a normalized box prompt', () => {
    const d = new PromptDriver();
    d.pointerDown(40, 30)
      .pointerMove(20, 20)
      .expectTool('boxing')
      .pointerUp(10, 10)
      .expectTool('awaitingMask');
    const [eff] = d.takeEffects();
    expect(eff).toMatchObject({
      type: 'segment',
      prompts: { points: [], box: { x0: 10, y0: 10, x1: 40, y1: 30 } },
    });
  });

  it('keeps a small jitter as a click, not a box', () => {
    const d = new PromptDriver();
    d.pointerDown(10, 10).pointerMove(11, 12).expectTool('pointing').pointerUp(11, 12);
    const [eff] = d.takeEffects();
    expect(eff).toMatchObject({ prompts: { points: [{ x: 10, y: 10, label: 1 }], box: null } });
  });

  it('drops a stale answer when a newer request is in flight', () => {
    const d = new PromptDriver();
    d.click(1, 1);
    const first = d.lastSegmentSeq();
    d.click(2, 2);
    const second = d.lastSegmentSeq();
    expect(second).toBeGreaterThan(first);
    d.answer(first, maskA).expectTool('awaitingMask');
    expect(d.state.candidate).toBeNull();
    d.answer(second, maskB).expectTool('reviewing');
    expect(d.state.candidate).toBe(maskB);
  });

  it('accepts the candidate on Enter and returns to idle with empty prompts', () => {
    const d = new PromptDriver();
    d.click(1, 1).answer(1, maskA).takeEffects();
    d.keyEnter().expectTool('idle');
    expect(d.takeEffects()).toEqual([
      { type: 'accept', mask: maskA, prompts: { points: [{ x: 1, y: 1, label: 1 }], box: null } },
    ]);
    expect(d.state.prompts.points).toEqual([]);
  });

  it('accepts as soon as the answer lands when Enter comes early', () => {
    const d = new PromptDriver();
    d.click(1, 1).takeEffects();
    d.keyEnter().expectTool('awaitingMask');
    expect(d.takeEffects()).toEqual([]);
    d.answer(1, maskA).expectTool('idle');
    expect(d.takeEffects().map((e) => e.type)).toEqual(['accept']);
  });

  it('clears everything on Esc and ignores the answer that arrives afterwards', () => {
    const d = new PromptDriver();
    d.click(1, 1).keyEscape().expectTool('idle');
    d.answer(1, maskA).expectTool('idle');
    expect(d.state.candidate).toBeNull();
    d.keyEnter();
    expect(d.takeEffects().map((e) => e.type)).toEqual(['segment']);
  });

  it('cancels only the box gesture on Esc mid-drag and keeps the earlier candidate', () => {
    const d = new PromptDriver();
    d.click(1, 1).answer(1, maskA);
    d.pointerDown(10, 10).pointerMove(30, 30).expectTool('boxing').keyEscape().expectTool('reviewing');
    expect(d.state.candidate).toBe(maskA);
  });

  it('asks for a hover preview only when the embedding is ready and no prompt exists', () => {
    const d = new PromptDriver();
    d.embeddingReady = false;
    d.pointerMove(3, 3);
    expect(d.takeEffects()).toEqual([]);
    d.embeddingReady = true;
    d.pointerMove(4, 4);
    const [eff] = d.takeEffects();
    expect(eff).toMatchObject({ type: 'hoverSegment', x: 4, y: 4 });
    d.click(4, 4).takeEffects();
    d.answer(d.state.pendingSeq!, maskA);
    d.pointerMove(6, 6);
    expect(d.takeEffects()).toEqual([]);
  });

  it('shows only the latest hover answer', () => {
    const d = new PromptDriver();
    d.pointerMove(1, 1).pointerMove(2, 2);
    const [h1, h2] = d.takeEffects();
    d.hoverAnswer(h1!.seq, maskA);
    expect(d.state.hover).toBeNull();
    d.hoverAnswer(h2!.seq, maskB);
    expect(d.state.hover).toBe(maskB);
  });

  it('returns to the previous candidate when a request fails', () => {
    const d = new PromptDriver();
    d.click(1, 1).answer(1, maskA).click(2, 2);
    d.fail(d.lastSegmentSeq(), 'engine crashed').expectTool('reviewing');
    expect(d.state.error).toBe('engine crashed');
    expect(d.state.candidate).toBe(maskA);
  });

  it('reuses an answered hover preview when the click lands on the same spot', () => {
    const d = new PromptDriver();
    d.pointerMove(10, 10);
    const [hover] = d.takeEffects();
    d.hoverAnswer(hover!.seq, maskA);
    d.click(10.5, 10).expectTool('reviewing');
    expect(d.takeEffects()).toEqual([
      {
        type: 'adoptHover',
        seq: hover!.seq,
        answered: true,
        prompts: { points: [{ x: 10.5, y: 10, label: 1 }], box: null },
      },
    ]);
    expect(d.state.candidate?.rle).toBe(maskA.rle);
  });

  it('waits for a hover request still in flight instead of sending the same prompt again', () => {
    const d = new PromptDriver();
    d.pointerMove(10, 10);
    const [hover] = d.takeEffects();
    d.click(10, 10).expectTool('awaitingMask');
    expect(d.takeEffects().map((e) => e.type)).toEqual(['adoptHover']);
    d.hoverAnswer(hover!.seq, maskB).expectTool('reviewing');
    expect(d.state.candidate?.rle).toBe(maskB.rle);
  });

  it('sends a fresh request when the click is away from the hover point', () => {
    const d = new PromptDriver();
    d.pointerMove(10, 10);
    const [hover] = d.takeEffects();
    d.hoverAnswer(hover!.seq, maskA);
    d.pointerDown(30, 30).pointerUp(30, 30).expectTool('awaitingMask');
    expect(d.takeEffects().map((e) => e.type)).toEqual(['segment']);
    expect(d.state.hover).toBeNull();
  });
});
