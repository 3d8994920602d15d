/**
 * Mask geometry: contour tracing (mask → rings with holes), even-odd rasterization (rings → mask), COCO
 * polygons, and small helpers on flat rings [x0, y0, x1, y1, ...].
 */
export { GeometryError, type GeometryErrorCode } from './errors.js';
export { maskToPolygons, type ContourOptions } from './contours.js';
export { maskToCocoPolygons, type CocoPolygonOptions } from './coco.js';
export { polygonsToMask } from './raster.js';
export { simplifyRing } from './simplify.js';
export { ringArea, bboxOfPoints, pointInPolygon } from './points.js';
