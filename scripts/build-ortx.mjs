#!/usr/bin/env node
// Builds ortx (main/engine/ortx: our N-API addon over onnxruntime's C API, for CUDA provider options, IO
// binding and CUDA graphs) with node-gyp into main/engine/ortx/build/Release/ortx.node.
//
// Optional by design: on failure it prints one line and exits 0, and the app keeps using onnxruntime-node.
// Set MASKROOM_REQUIRE_ORTX=1 to make a failed build fail (exit 1, with node-gyp's output), as CI does.
// Linux x64 only for now.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'main', 'engine', 'ortx');
const output = path.join(dir, 'build', 'Release', 'ortx.node');
const required = process.env.MASKROOM_REQUIRE_ORTX === '1';

function log(msg) {
  console.log(`[maskroom] ${msg}`);
}

/** One clear line, then exit 0 (fallback to onnxruntime-node) or 1 when MASKROOM_REQUIRE_ORTX=1. */
function fail(msg, details = '') {
  if (required) {
    if (details) process.stderr.write(details.endsWith('\n') ? details : `${details}\n`);
    console.error(`[maskroom] ortx: build failed: ${msg} (MASKROOM_REQUIRE_ORTX=1)`);
    process.exit(1);
  }
  log(`ortx: not built (${msg}); onnxruntime-node is used instead. Retry with "npm run build:ortx".`);
  process.exit(0);
}

/** node-gyp: npm's own when run from an npm script, else the one bundled with the global npm. */
function nodeGypPath() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const globalRoot = execFileSync('npm', ['root', '-g'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  return path.join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

/** npm's configured nodedir (local Node headers), passed on so node-gyp does not download them. */
function nodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv) return fromEnv;
  try {
    const v = execFileSync('npm', ['config', 'get', 'nodedir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return v && v !== 'undefined' && v !== 'null' ? v : null;
  } catch {
    return null;
  }
}

/** The most telling line of a compiler / node-gyp log. */
function firstError(text) {
  const lines = text.split('\n').map((l) => l.trim());
  return (
    lines.find((l) => /\berror\b/i.test(l) && !l.startsWith('gyp ERR! stack')) ??
    lines.filter(Boolean).pop() ??
    'unknown error'
  );
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return log(
      `ortx: not built on ${process.platform}-${process.arch} (Linux x64 only); onnxruntime-node is used.`,
    );
  }
  try {
    createRequire(path.join(root, 'package.json')).resolve('node-addon-api');
  } catch {
    return fail('node-addon-api is not installed');
  }
  let gyp;
  try {
    gyp = nodeGypPath();
  } catch (err) {
    return fail(`cannot locate node-gyp: ${err.message}`);
  }
  if (!fs.existsSync(gyp)) return fail(`node-gyp not found at ${gyp}`);

  const args = [gyp, 'rebuild', '--release', `--directory=${dir}`];
  const nd = nodeDir();
  if (nd) args.push(`--nodedir=${nd}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return fail(`node-gyp could not run: ${r.error.message}`, out);
  if (r.status !== 0) return fail(firstError(out), out);
  if (!fs.existsSync(output))
    return fail(`node-gyp succeeded but ${path.relative(root, output)} is missing`, out);

  // The addon must at least load (unresolved symbols show up here, not at link time).
  const check = spawnSync(
    process.execPath,
    ['-e', `process.exit(require(${JSON.stringify(output)}).apiVersion > 0 ? 0 : 1)`],
    {
      encoding: 'utf8',
    },
  );
  if (check.status !== 0)
    return fail(`the built addon does not load: ${firstError(check.stderr ?? '')}`, check.stderr);
  log(`ortx: built ${path.relative(root, output)} in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
}

main();
