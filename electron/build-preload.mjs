// Bundles electron/preload.ts into dist/electron/preload.cjs: sandboxed preloads are CommonJS and may
// require only `electron`, so the contracts and zod are inlined. Run by `npm run build:preload`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}electron/preload.ts`],
  outfile: `${root}dist/electron/preload.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'es2022',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
});
