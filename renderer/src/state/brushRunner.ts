// Runs the brush machine's effects: stroke pixels in the worker, then the re-encoded mask to the
// backend as one undo step. Split from the controller to keep each file one concern.
import type { MaskroomApi, Unsubscribe } from '../../../common/contracts/index.js';
import type { BrushEffect, BrushEvent } from '../editor/brushTool.js';
import type { PixelClient } from '../pixels/client.js';
import type { RenderedMask } from '../pixels/protocol.js';
import { colorOf, type AppState } from './store.js';

/** What the runner needs from the controller. */
export interface BrushHost {
  api: MaskroomApi;
  pixels: PixelClient;
  state(): AppState;
  brushEvent(ev: BrushEvent): void;
  /** After a stroke is saved (refetch annotations, history flags). */
  afterSave(): Promise<void>;
  toast(kind: 'info' | 'error', text: string): void;
}

export class BrushRunner {
  /** The stroke's pixels while painting; the view draws it instead of the annotation's own bitmap. */
  preview: RenderedMask | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly host: BrushHost) {}

  /** Hears preview changes (for useSyncExternalStore). */
  onPreview(cb: () => void): Unsubscribe {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private setPreview(m: RenderedMask | null): void {
    this.preview = m;
    for (const cb of this.listeners) cb();
  }

  /** Runs one effect of the brush machine. */
  async run(eff: BrushEffect): Promise<void> {
    const s = this.host.state();
    switch (eff.type) {
      case 'strokeBegin': {
        const ann = s.annotations.find((a) => String(a.id) === eff.annotationId);
        if (!ann) return;
        const res = await this.host.pixels.request({
          kind: 'strokeBegin',
          channel: 'brush',
          strokeId: eff.strokeId,
          rle: ann.rle,
          color: colorOf(s.categories, ann.categoryId),
          x: eff.x,
          y: eff.y,
          radius: eff.radius,
          value: eff.value,
        });
        if (res?.kind === 'rendered') this.setPreview(res.mask);
        return;
      }
      case 'strokeTo': {
        const res = await this.host.pixels.request({
          kind: 'strokeTo',
          channel: 'brush',
          strokeId: eff.strokeId,
          from: eff.from,
          to: eff.to,
          radius: eff.radius,
          value: eff.value,
        });
        if (res?.kind === 'rendered' && this.host.state().brush.phase === 'painting')
          this.setPreview(res.mask);
        return;
      }
      case 'strokeDiscard':
        await this.host.pixels.request({
          kind: 'strokeDiscard',
          channel: 'brush-end',
          strokeId: eff.strokeId,
        });
        this.setPreview(null);
        return;
      case 'strokeCommit': {
        const res = await this.host.pixels.request({
          kind: 'strokeCommit',
          channel: 'brush-end',
          strokeId: eff.strokeId,
        });
        const id = Number(eff.annotationId);
        if (res?.kind !== 'committed') {
          this.host.brushEvent({
            type: 'saveFailed',
            strokeId: eff.strokeId,
            message: res?.kind === 'error' ? res.message : 'stroke lost',
          });
          this.setPreview(null);
          return;
        }
        const r =
          res.area === 0
            ? await this.host.api.annotations.delete({ ids: [id] })
            : await this.host.api.annotations.updateMask({ id, rle: res.rle });
        if (r.ok) {
          this.host.brushEvent({ type: 'saved', strokeId: eff.strokeId });
          await this.host.afterSave();
        } else {
          this.host.brushEvent({ type: 'saveFailed', strokeId: eff.strokeId, message: r.error.message });
          this.host.toast('error', `Brush: ${r.error.message}`);
        }
        this.setPreview(null);
        return;
      }
    }
  }
}
