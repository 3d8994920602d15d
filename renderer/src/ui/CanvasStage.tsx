// The Konva stage: draws the store (image, masks, candidate, prompts) and forwards pointer events, in
// image coordinates, to the tool machines through the controller. Zoom/pan is view-only state.
import type Konva from 'konva';
import {
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import { Circle, Group, Image as KImage, Layer, Line, Rect, Stage } from 'react-konva';
import type { Annotation } from '../../../common/contracts/index.js';
import { useApp, useController } from '../state/context.js';
import { colorOf, type AppState } from '../state/store.js';
import { toBitmap, useContours, useMaskBitmap } from './maskCanvas.js';

function useImageElement(url: string | null): HTMLImageElement | null {
  const [img, setImg] = useState<HTMLImageElement | null>(null);
  useEffect(() => {
    setImg(null);
    if (!url) return;
    const el = new window.Image();
    el.decoding = 'async';
    el.onload = () => setImg(el);
    el.src = url;
    return () => {
      el.onload = null;
    };
  }, [url]);
  return img;
}

function useElementSize<T extends HTMLElement>(): [
  React.RefObject<T | null>,
  { width: number; height: number },
] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ width: el.clientWidth, height: el.clientHeight }));
    ro.observe(el);
    setSize({ width: el.clientWidth, height: el.clientHeight });
    return () => ro.disconnect();
  }, []);
  return [ref, size];
}

export function CanvasStage() {
  const c = useController();
  const currentImage = useApp((s) => s.currentImage);
  const imageId = useApp((s) => s.currentImageId);
  const annotations = useApp((s) => s.annotations);
  const categories = useApp((s) => s.categories);
  const hidden = useApp((s) => s.hidden);
  const selectedId = useApp((s) => s.selectedId);
  const focusId = useApp((s) => s.review.focusId);
  const tool = useApp((s) => s.tool);
  const prompt = useApp((s) => s.prompt);
  const brush = useApp((s) => s.brush);
  const embeddingReady = useApp((s) => s.embedding.state === 'ready');
  const activeColor = useApp((s) => colorOf(s.categories, s.activeCategoryId));

  const img = useImageElement(currentImage?.url ?? null);
  const [wrapRef, size] = useElementSize<HTMLDivElement>();
  const view = useApp((s) => s.viewport);
  const setView = useCallback(
    (v: AppState['viewport'] | ((v: AppState['viewport']) => AppState['viewport'])) =>
      c.store.setState((s) => ({ viewport: typeof v === 'function' ? v(s.viewport) : v })),
    [c],
  );
  const [cursor, setCursor] = useState<{ x: number; y: number } | null>(null);
  const pan = useRef<{ sx: number; sy: number; vx: number; vy: number } | null>(null);
  const [space, setSpace] = useState(false);
  const candidateLayer = useRef<Konva.Layer>(null);

  // Fit the image when it (or the viewport) first becomes known.
  const fitted = useRef<number | null>(null);
  useEffect(() => {
    if (!currentImage || size.width === 0 || fitted.current === imageId) return;
    fitted.current = imageId;
    const scale = Math.min(size.width / currentImage.width, size.height / currentImage.height) * 0.95;
    setView({
      scale,
      x: (size.width - currentImage.width * scale) / 2,
      y: (size.height - currentImage.height * scale) / 2,
    });
  }, [currentImage, size, imageId, setView]);

  useEffect(() => {
    const down = (e: KeyboardEvent) =>
      e.code === 'Space' && !(e.target instanceof HTMLInputElement) && setSpace(true);
    const up = (e: KeyboardEvent) => e.code === 'Space' && setSpace(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
    };
  }, []);

  const toImage = useCallback(
    (stage: Konva.Stage | null) => {
      const p = stage?.getPointerPosition();
      if (!p) return null;
      return { x: (p.x - view.x) / view.scale, y: (p.y - view.y) / view.scale };
    },
    [view],
  );

  const inside = (p: { x: number; y: number }) =>
    !!currentImage && p.x >= 0 && p.y >= 0 && p.x < currentImage.width && p.y < currentImage.height;

  const onDown = (e: Konva.KonvaEventObject<MouseEvent>) => {
    const ev = e.evt;
    if (ev.button === 1 || (ev.button === 0 && space)) {
      ev.preventDefault();
      pan.current = { sx: ev.clientX, sy: ev.clientY, vx: view.x, vy: view.y };
      return;
    }
    const p = toImage(e.target.getStage());
    if (!p || !inside(p)) return;
    if (tool === 'prompt')
      c.promptEvent({ type: 'pointerDown', x: p.x, y: p.y, negative: ev.button === 2 || ev.altKey });
    else if (ev.button === 0) c.brushEvent({ type: 'pointerDown', x: p.x, y: p.y });
  };

  const onMove = (e: Konva.KonvaEventObject<MouseEvent>) => {
    if (pan.current) {
      const { sx, sy, vx, vy } = pan.current;
      setView((v) => ({ ...v, x: vx + e.evt.clientX - sx, y: vy + e.evt.clientY - sy }));
      return;
    }
    const p = toImage(e.target.getStage());
    if (!p) return;
    setCursor(p);
    if (tool === 'prompt') {
      if (inside(p) || prompt.phase === 'boxing')
        c.promptEvent({ type: 'pointerMove', x: p.x, y: p.y, embeddingReady });
    } else c.brushEvent({ type: 'pointerMove', x: p.x, y: p.y });
  };

  const onUp = (e: Konva.KonvaEventObject<MouseEvent>) => {
    if (pan.current) {
      pan.current = null;
      return;
    }
    const p = toImage(e.target.getStage());
    if (!p) return;
    const clamp = (v: number, max: number) => Math.max(0, Math.min(max - 1, v));
    const q = currentImage ? { x: clamp(p.x, currentImage.width), y: clamp(p.y, currentImage.height) } : p;
    if (tool === 'prompt') c.promptEvent({ type: 'pointerUp', x: q.x, y: q.y }, e.evt.timeStamp);
    else c.brushEvent({ type: 'pointerUp' });
  };

  const onLeave = () => {
    setCursor(null);
    if (tool === 'prompt') c.promptEvent({ type: 'pointerLeave' });
  };

  const onWheel = (e: Konva.KonvaEventObject<WheelEvent>) => {
    e.evt.preventDefault();
    const stage = e.target.getStage();
    const p = stage?.getPointerPosition();
    if (!p) return;
    const factor = Math.exp(-e.evt.deltaY * 0.0015);
    setView((v) => {
      const scale = Math.min(40, Math.max(0.05, v.scale * factor));
      const ix = (p.x - v.x) / v.scale;
      const iy = (p.y - v.y) / v.scale;
      return { scale, x: p.x - ix * scale, y: p.y - iy * scale };
    });
  };

  // Candidate / hover bitmaps from the worker; the candidate's draw time feeds the latency figures.
  const candidate = useMaskBitmap(
    c.pixels,
    'candidate',
    prompt.candidate?.rle ?? null,
    activeColor,
    0.5,
    'preview',
  );
  const hover = useMaskBitmap(c.pixels, 'hover', prompt.hover?.rle ?? null, activeColor, 0.3, 'preview');
  const candidateSeq = prompt.candidate?.seq;
  useEffect(() => {
    const want = prompt.candidate?.rle;
    // The bitmap on hand must show this candidate's pixels (compared by content: equal masks from two
    // requests share one bitmap).
    if (!candidate.bitmap || !want || candidate.rle?.counts !== want.counts || candidateSeq === undefined)
      return;
    // Draw synchronously, then wait one frame: the mask has been handed to the compositor by then.
    candidateLayer.current?.draw();
    const raf = requestAnimationFrame(() => c.markDrawn(candidateSeq));
    return () => cancelAnimationFrame(raf);
  }, [c, candidate, candidateSeq, prompt.candidate?.rle]);

  // A crisp vector outline of the selected (or focused proposal's) mask, at any zoom.
  const outlined =
    annotations.find((a) => a.id === selectedId) ?? annotations.find((a) => a.id === focusId) ?? null;
  const outline = useContours(c.pixels, 'outline', outlined && !hidden[outlined.id] ? outlined.rle : null);

  const brushPreview = useSyncExternalStore(
    (cb) => c.onBrushPreview(cb),
    () => c.brushPreview,
  );
  const brushBitmap = useMemo(() => (brushPreview ? toBitmap(brushPreview) : null), [brushPreview]);
  const painting = brush.phase !== 'idle' && brushPreview !== null;

  const k = 1 / view.scale;
  const cursorStyle = space || pan.current ? 'grab' : tool === 'prompt' ? 'crosshair' : 'none';

  return (
    <div
      ref={wrapRef}
      className="stage-wrap"
      style={{ cursor: cursorStyle }}
      onContextMenu={(e) => e.preventDefault()}
      data-testid="stage"
    >
      {size.width > 0 && (
        <Stage
          width={size.width}
          height={size.height}
          onMouseDown={onDown}
          onMouseMove={onMove}
          onMouseUp={onUp}
          onMouseLeave={onLeave}
          onWheel={onWheel}
        >
          <Layer
            listening={false}
            x={view.x}
            y={view.y}
            scaleX={view.scale}
            scaleY={view.scale}
            imageSmoothingEnabled={view.scale < 2}
          >
            {img && currentImage && (
              <KImage image={img} width={currentImage.width} height={currentImage.height} />
            )}
          </Layer>
          <Layer
            listening={false}
            x={view.x}
            y={view.y}
            scaleX={view.scale}
            scaleY={view.scale}
            imageSmoothingEnabled={false}
          >
            {annotations.map((a) =>
              hidden[a.id] || (painting && a.id === selectedId) ? null : (
                <AnnotationMask
                  key={a.id}
                  annotation={a}
                  color={colorOf(categories, a.categoryId)}
                  emphasis={a.id === selectedId || a.id === focusId}
                />
              ),
            )}
            {painting && brushBitmap && (
              <KImage image={brushBitmap.canvas} x={brushBitmap.x} y={brushBitmap.y} />
            )}
          </Layer>
          <Layer
            ref={candidateLayer}
            listening={false}
            x={view.x}
            y={view.y}
            scaleX={view.scale}
            scaleY={view.scale}
            imageSmoothingEnabled={false}
          >
            {hover.bitmap && !prompt.candidate && prompt.phase !== 'boxing' && (
              <KImage image={hover.bitmap.canvas} x={hover.bitmap.x} y={hover.bitmap.y} />
            )}
            {candidate.bitmap && prompt.candidate && (
              <KImage image={candidate.bitmap.canvas} x={candidate.bitmap.x} y={candidate.bitmap.y} />
            )}
          </Layer>
          <Layer listening={false} x={view.x} y={view.y} scaleX={view.scale} scaleY={view.scale}>
            {!painting &&
              outline.map((pts, i) => (
                <Group key={`o${i}`}>
                  <Line points={pts} closed stroke="#000" strokeWidth={3 * k} opacity={0.6} />
                  <Line points={pts} closed stroke="#fff" strokeWidth={1.5 * k} dash={[6 * k, 4 * k]} />
                </Group>
              ))}
            {prompt.prompts.box && (
              <Rect
                x={prompt.prompts.box.x0}
                y={prompt.prompts.box.y0}
                width={prompt.prompts.box.x1 - prompt.prompts.box.x0}
                height={prompt.prompts.box.y1 - prompt.prompts.box.y0}
                stroke="#facc15"
                strokeWidth={2 * k}
              />
            )}
            {prompt.phase === 'boxing' && prompt.gesture && (
              <Rect
                x={Math.min(prompt.gesture.x0, prompt.gesture.x1)}
                y={Math.min(prompt.gesture.y0, prompt.gesture.y1)}
                width={Math.abs(prompt.gesture.x1 - prompt.gesture.x0)}
                height={Math.abs(prompt.gesture.y1 - prompt.gesture.y0)}
                stroke="#facc15"
                dash={[6 * k, 4 * k]}
                strokeWidth={1.5 * k}
              />
            )}
            {prompt.prompts.points.map((p, i) => (
              <Group key={i} x={p.x} y={p.y}>
                <Circle
                  radius={6 * k}
                  fill={p.label === 1 ? '#22c55e' : '#ef4444'}
                  stroke="#fff"
                  strokeWidth={1.5 * k}
                />
              </Group>
            ))}
            {tool !== 'prompt' && cursor && (
              <Circle
                x={cursor.x}
                y={cursor.y}
                radius={brush.radius}
                stroke={tool === 'brush' ? '#fff' : '#f87171'}
                strokeWidth={1.2 * k}
                dash={[4 * k, 3 * k]}
              />
            )}
          </Layer>
        </Stage>
      )}
      {!img && <div className="stage-loading muted">Loading image…</div>}
    </div>
  );
}

/** Color of proposed (unreviewed) masks; matches the review pill and list swatches. */
const PROPOSAL_COLOR = '#a78bfa';

const AnnotationMask = memo(function AnnotationMask({
  annotation,
  color,
  emphasis,
}: {
  annotation: Annotation;
  color: string;
  emphasis: boolean;
}) {
  const c = useController();
  const proposed = annotation.status === 'proposed';
  // Proposals are not the user's yet: drawn hatched in the review color, whatever their category.
  const { bitmap } = useMaskBitmap(
    c.pixels,
    `ann:${annotation.id}`,
    annotation.rle,
    proposed ? PROPOSAL_COLOR : color,
    emphasis ? 0.75 : proposed ? 0.55 : 0.42,
    proposed ? 'hatched' : 'solid',
  );
  if (!bitmap) return null;
  return (
    <KImage image={bitmap.canvas} x={bitmap.x} y={bitmap.y} opacity={proposed && !emphasis ? 0.85 : 1} />
  );
});
