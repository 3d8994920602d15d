import path from 'node:path';

/**
 * onnxruntime opens model files from native code, which cannot read inside app.asar: in a packaged app
 * the fixture is unpacked (build/electron-builder.yml asarUnpack) and must be named by its real path.
 */
export function unpackedPath(p: string, sep: string = path.sep): string {
  return p.split(`${sep}app.asar${sep}`).join(`${sep}app.asar.unpacked${sep}`);
}
