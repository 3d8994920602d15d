// Decides how `npm start` runs Maskroom: the desktop app when Electron's binary is installed, otherwise
// web mode. Pure (reads only the file system it is given), so it is tested on its own.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * @param {{ root: string, env?: Record<string, string | undefined>, platform?: string }} opts
 * @returns {{ mode: 'electron' | 'web', reason: string, electronPath: string | null }}
 */
export function chooseMode({ root, env = process.env }) {
  if (env.MASKROOM_MODE === 'web') return { mode: 'web', reason: 'MASKROOM_MODE=web', electronPath: null };
  const pkg = path.join(root, 'node_modules', 'electron');
  const pathTxt = path.join(pkg, 'path.txt');
  if (!existsSync(pkg))
    return { mode: 'web', reason: 'the electron package is not installed', electronPath: null };
  if (!existsSync(pathTxt)) {
    return {
      mode: 'web',
      reason:
        "Electron's binary was not downloaded (node_modules/electron/path.txt is missing; its download is blocked or was skipped)",
      electronPath: null,
    };
  }
  const rel = readFileSync(pathTxt, 'utf8').trim();
  const bin = path.join(env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(pkg, 'dist'), rel);
  if (!existsSync(bin))
    return { mode: 'web', reason: `Electron's binary is missing at ${bin}`, electronPath: null };
  if (
    env.MASKROOM_MODE !== 'electron' &&
    process.platform === 'linux' &&
    !env.DISPLAY &&
    !env.WAYLAND_DISPLAY
  ) {
    return {
      mode: 'web',
      reason: 'no display (DISPLAY / WAYLAND_DISPLAY unset): a window cannot open here',
      electronPath: bin,
    };
  }
  return { mode: 'electron', reason: `Electron found at ${bin}`, electronPath: bin };
}

/**
 * Build outputs a mode needs that are missing, as npm script names.
 * @param {string} root
 * @param {'electron' | 'web'} mode
 * @returns {string[]}
 */
export function missingBuilds(root, mode) {
  const out = [];
  if (
    !existsSync(path.join(root, 'dist', 'main', 'server', 'cli.js')) ||
    !existsSync(path.join(root, 'dist', 'electron', 'main.js'))
  ) {
    out.push('build:node');
  }
  if (!existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) out.push('build:renderer');
  if (mode === 'electron' && !existsSync(path.join(root, 'dist', 'electron', 'preload.cjs')))
    out.push('build:preload');
  return out;
}
