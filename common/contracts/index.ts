// Every cross-process contract of Maskroom and the typed API derived from them. Renderer code talks to
// `MaskroomApi`; whether it came from the Electron preload (`window.maskroom`) or from
// `createClient(createWebSocketTransport(...))` is invisible to it. See README.md for the protocol.
export * from './core.js';
export * from './schemas.js';
export * from './annotations.js';
export * from './app.js';
export * from './categories.js';
export * from './export.js';
export * from './images.js';
export * from './jobs.js';
export * from './models.js';
export * from './projects.js';
export * from './segmentation.js';
export * from './registry.js';
export * from './client.js';
export * from './dispatch.js';
export * from './protocol.js';
