// Execution-provider choice, made inside the worker (the only thread that loads onnxruntime sessions).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { firstLine } from './errors.js';
import { tinyIdentityOnnx } from './onnx-tiny.js';
import type { ProviderChoice, ProviderInfo } from './types.js';

// The provider bridge logs a CUDA load failure through the process-wide logger, not the session's; the
// failure is reported as fallbackReason instead. onnxruntime reads this once, when the first session of the
// process is created, so it is set on import (sessions keep their own level, see sessionOptions).
ort.env.logLevel = 'fatal';

type Probe = { ok: true } | { ok: false; reason: string };
let cudaProbe: Promise<Probe> | null = null;

/** Folder of onnxruntime-node's native library, where scripts/install-cuda-provider.mjs puts the CUDA provider. */
function ortLibDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

/** onnxruntime's own shared library as onnxruntime-node ships it (ortx loads the same one); Linux x64 only. */
export function ortLibraryPath(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const dir = ortLibDir();
  let lib = dir && path.join(dir, 'libonnxruntime.so.1');
  // Packaged app: dlopen needs the real file, which electron-builder unpacks beside app.asar.
  const unpacked = lib?.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
  if (unpacked && unpacked !== lib && existsSync(unpacked)) lib = unpacked;
  return lib && existsSync(lib) ? lib : null;
}

/** Names the shared libraries the CUDA provider needs but the dynamic linker cannot find (Linux). */
function missingLibraries(lib: string): string[] {
  try {
    const out = execFileSync('ldd', [lib], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .filter((l) => l.includes('not found'))
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}

async function probeCudaOnce(): Promise<Probe> {
  if (!(process.platform === 'linux' || process.platform === 'win32') || process.arch !== 'x64') {
    return {
      ok: false,
      reason: `onnxruntime-node has no CUDA provider for ${process.platform}-${process.arch}`,
    };
  }
  const dir = ortLibDir();
  const lib =
    dir &&
    path.join(
      dir,
      process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so',
    );
  if (process.platform === 'linux' && lib && !existsSync(lib)) {
    return {
      ok: false,
      reason: `CUDA provider not installed (${lib} missing; run "node scripts/install-cuda-provider.mjs")`,
    };
  }
  try {
    // A one-node model: creating its session loads the provider and CUDA/cuDNN, nothing else.
    const model = tinyIdentityOnnx([{ name: 'x', dims: [1] }], [{ name: 'y', dims: [1] }]);
    const s = await ort.InferenceSession.create(model, { executionProviders: ['cuda'], logSeverityLevel: 4 });
    await s.release();
    return { ok: true };
  } catch (err) {
    const msg = firstLine(err);
    const missing = lib && process.platform === 'linux' ? missingLibraries(lib) : [];
    return {
      ok: false,
      reason: missing.length
        ? `CUDA provider cannot load: missing ${missing.join(', ')} (install CUDA 13 + cuDNN 9 or add them to LD_LIBRARY_PATH)`
        : `CUDA provider cannot load: ${msg}`,
    };
  }
}

/** Probes CUDA once per worker thread (the result is cached) and reports the provider to use. */
export async function chooseProvider(requested: ProviderChoice): Promise<ProviderInfo> {
  if (requested === 'cpu') return { requested, active: 'cpu', fallbackReason: null };
  cudaProbe ??= probeCudaOnce();
  const probe = await cudaProbe;
  return probe.ok
    ? { requested, active: 'cuda', fallbackReason: null }
    : { requested, active: 'cpu', fallbackReason: probe.reason };
}

/** Session options for the chosen provider; CUDA keeps CPU as the fallback for nodes it does not implement. */
export function sessionOptions(p: ProviderInfo): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: p.active === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
}
