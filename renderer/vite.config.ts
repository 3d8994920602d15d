// Builds the renderer into dist/renderer (served by web mode and loaded by Electron). Relative `base` so
// the same bundle works from file:// / a custom protocol and from the web server's root.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Resolved from this file, not the cwd; plain URL parsing keeps this config free of Node imports
// (ESLint forbids them under renderer/).
const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  build: {
    outDir: decodeURIComponent(new URL('../dist/renderer', import.meta.url).pathname),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
});
