// Crop boxes and the crop-edge test (SAM utils/amg.py: generate_crop_boxes, is_box_near_crop_edge).
import type { BoxXyxy } from './types.js';

/** A crop of the image (XYXY, exclusive end) and the crop layer it belongs to (0 = whole image). */
export interface CropBox {
  box: BoxXyxy;
  layer: number;
}

/**
 * The whole image, then for each layer i ≥ 1 a (2^i)×(2^i) grid of overlapping crops. Same integer
 * arithmetic as SAM, so crops match pixel for pixel. Order: x-major within a layer, like SAM's `product`.
 */
export function generateCropBoxes(
  imH: number,
  imW: number,
  nLayers: number,
  overlapRatio: number,
): CropBox[] {
  const crops: CropBox[] = [{ box: [0, 0, imW, imH], layer: 0 }];
  const shortSide = Math.min(imH, imW);
  const cropLen = (origLen: number, nCrops: number, overlap: number) =>
    Math.ceil((overlap * (nCrops - 1) + origLen) / nCrops);
  for (let layer = 0; layer < nLayers; layer++) {
    const nPerSide = 2 ** (layer + 1);
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / nPerSide));
    const cropW = cropLen(imW, nPerSide, overlap);
    const cropH = cropLen(imH, nPerSide, overlap);
    for (let i = 0; i < nPerSide; i++) {
      const x0 = Math.trunc((cropW - overlap) * i);
      for (let j = 0; j < nPerSide; j++) {
        const y0 = Math.trunc((cropH - overlap) * j);
        crops.push({ box: [x0, y0, Math.min(x0 + cropW, imW), Math.min(y0 + cropH, imH)], layer: layer + 1 });
      }
    }
  }
  return crops;
}

/**
 * True when a mask box (in the crop's coordinates) lies within `atol` pixels of an edge of the crop that is
 * not also an edge of the image: such a mask is probably cut by the crop.
 */
export function isBoxNearCropEdge(
  boxInCrop: BoxXyxy,
  cropBox: BoxXyxy,
  origBox: BoxXyxy,
  atol = 20,
): boolean {
  const dx = cropBox[0];
  const dy = cropBox[1];
  const b = [boxInCrop[0] + dx, boxInCrop[1] + dy, boxInCrop[2] + dx, boxInCrop[3] + dy];
  for (let k = 0; k < 4; k++) {
    const nearCrop = Math.abs(b[k]! - cropBox[k]!) <= atol;
    const nearImage = Math.abs(b[k]! - origBox[k]!) <= atol;
    if (nearCrop && !nearImage) return true;
  }
  return false;
}

/** Area of an XYXY box (torchvision's `box_area`: no +1). */
export function boxArea(b: BoxXyxy): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}
