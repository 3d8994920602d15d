import WebSocket from 'ws';
import sharp from 'sharp';
import { createClient, createWebSocketTransport } from '../../common/contracts/index.js';
import { decode } from '../../common/rle/index.js';
const url = new URL(process.argv[2]!);
const api = createClient(
  createWebSocketTransport({
    url: `ws://${url.host}/ws`,
    token: url.searchParams.get('token')!,
    connect: (u) => new WebSocket(u, { headers: { Origin: url.origin } }) as never,
  }),
);
const imgs = await api.images.list({});
if (!imgs.ok) throw new Error(JSON.stringify(imgs));
const img = imgs.value.items.find((i) => i.fileName === 'shapes_00.jpg')!;
const { data, info } = await sharp('/tmp/mrdev/work/shapes/shapes_00.ids.png')
  .toColourspace('grey16')
  .raw({ depth: 'ushort' })
  .toBuffer({ resolveWithObject: true });
const ids = new Uint16Array(data.buffer, data.byteOffset, info.width * info.height);
const W = info.width;
function inst(k: number) {
  const m = new Uint8Array(ids.length);
  for (let i = 0; i < m.length; i++) m[i] = ids[i] === k ? 1 : 0;
  return m;
}
function bb(m: Uint8Array) {
  let x0 = 1e9,
    y0 = 1e9,
    x1 = -1,
    y1 = -1;
  for (let i = 0; i < m.length; i++)
    if (m[i]) {
      const x = i % W,
        y = (i / W) | 0;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  return [x0, y0, x1, y1];
}
function iou(a: Uint8Array, b: Uint8Array) {
  let i = 0,
    u = 0;
  for (let j = 0; j < a.length; j++) {
    if (a[j] && b[j]) i++;
    if (a[j] || b[j]) u++;
  }
  return i / u;
}
function ar(a: Uint8Array) {
  let n = 0;
  for (const v of a) n += v;
  return n;
}
for (let k = 1; k <= 8; k++) console.log(k, bb(inst(k)), ar(inst(k)));
let last: string | undefined;
async function seg(
  points: { x: number; y: number; label: 0 | 1 }[],
  box?: any,
  multimask = false,
  refine = false,
) {
  const r = await api.segmentation.segment({
    imageId: img.id,
    points,
    ...(box ? { box } : {}),
    multimask,
    ...(refine && last ? { maskInputId: last } : {}),
  });
  if (!r.ok) throw new Error(JSON.stringify(r));
  last = r.value.candidates[0]!.lowResId;
  return decode(r.value.candidates[0]!.rle);
}
const arg = JSON.parse(process.argv[3]!);
for (const t of arg) {
  const m = await seg(t.points, t.box, t.multi, t.refine);
  const res: Record<string, string> = {};
  for (let k = 1; k <= 8; k++) {
    const v = iou(m, inst(k));
    if (v > 0.05) res[k] = v.toFixed(2);
  }
  console.log(JSON.stringify(t), 'area', ar(m), res);
}
process.exit(0);
