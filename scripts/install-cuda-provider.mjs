#!/usr/bin/env node
// Puts onnxruntime's CUDA execution provider next to onnxruntime-node's libonnxruntime.so.1 (Linux x64).
//
// Why not onnxruntime-node's own postinstall: it downloads from NuGet, which many networks (and our CI)
// cannot reach. The same ORT 1.29.0 build for CUDA 13 ships on the npm registry as
// com.github.asus4.onnxruntime.linux-x64-gpu, but depending on it would also install its 385 MB Unity
// dependency. So we `npm pack` just that one tarball, check its pinned integrity, and unpack it.
//
// Never fails the install: without the provider the engine runs on CPU and says why.
// Set MASKROOM_SKIP_CUDA=1 to skip.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = 'com.github.asus4.onnxruntime.linux-x64-gpu';
const VERSION = '0.4.9';
const INTEGRITY =
  'sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==';
const LIBS = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ortDir = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
const unpackDir = path.join(root, 'node_modules', PKG);

function log(msg) {
  console.log(`[maskroom] ${msg}`);
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return log(`CUDA provider: not needed on ${process.platform}-${process.arch} (CPU provider in use).`);
  }
  if (process.env.MASKROOM_SKIP_CUDA === '1') return log('CUDA provider: skipped (MASKROOM_SKIP_CUDA=1).');
  if (!fs.existsSync(path.join(ortDir, 'libonnxruntime.so.1'))) {
    return log('CUDA provider: onnxruntime-node is not installed yet; skipped.');
  }
  if (LIBS.every((l) => fs.existsSync(path.join(ortDir, l)))) return log('CUDA provider: already in place.');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maskroom-cuda-'));
  try {
    const out = execFileSync(
      'npm',
      ['pack', `${PKG}@${VERSION}`, '--pack-destination', tmp, '--silent', '--ignore-scripts'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 },
    );
    const tgz = path.join(tmp, out.trim().split('\n').pop());
    const digest = 'sha512-' + createHash('sha512').update(fs.readFileSync(tgz)).digest('base64');
    if (digest !== INTEGRITY) throw new Error(`integrity mismatch for ${PKG}@${VERSION}: got ${digest}`);
    fs.rmSync(unpackDir, { recursive: true, force: true });
    fs.mkdirSync(unpackDir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', unpackDir, '--strip-components=1']);
    const found = findLibs(unpackDir);
    for (const lib of LIBS) {
      if (!found[lib]) throw new Error(`${lib} not found inside ${PKG}@${VERSION}`);
      const dest = path.join(ortDir, lib);
      fs.rmSync(dest, { force: true });
      // A hard link keeps one 220 MB copy on disk; copy where links are not allowed.
      try {
        fs.linkSync(found[lib], dest);
      } catch {
        fs.copyFileSync(found[lib], dest);
      }
    }
    // TensorRT's provider needs libraries we never ship; drop it so nobody packs it by accident.
    for (const f of Object.values(findAll(unpackDir, 'libonnxruntime_providers_tensorrt.so'))) fs.rmSync(f);
    log(`CUDA provider: ${LIBS.join(', ')} placed next to libonnxruntime.so.1.`);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    log(
      `CUDA provider not installed (${reason}). Maskroom will run on CPU; re-run "npm run install-cuda" to retry.`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function findAll(dir, name) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === name) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function findLibs(dir) {
  const found = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (LIBS.includes(e.name) && p.includes(`${path.sep}x64${path.sep}`)) found[e.name] = p;
    }
  };
  walk(dir);
  return found;
}

main();
