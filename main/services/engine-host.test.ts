// The engine host's start-up line: what a user reads first when masks seem slow.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withEnv } from '../engine/testing.js';
import { loadMaskUpscaler } from '../engine/ortx.js';
import { EngineHost } from './engine-host.js';
import { ModelStore } from './models-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startLine(env: Record<string, string | undefined>): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'enginehost-'));
  dirs.push(dir);
  const lines: string[] = [];
  const host = new EngineHost(new ModelStore(dir), {
    provider: 'cpu',
    cacheDir: false,
    log: (l) => lines.push(l),
  });
  try {
    await withEnv(env, () => host.get());
  } finally {
    await host.stop();
  }
  return lines;
}

describe('EngineHost start-up line', () => {
  it('says when masks are upscaled by the TypeScript, and why', async () => {
    const lines = await startLine({ MASKROOM_UPSCALE: 'js' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^engine: model .* on cpu; masks upscaled in TypeScript \(MASKROOM_UPSCALE=js\)$/,
    );
  });

  it('says nothing of it when the native post-processing runs', async () => {
    const native = loadMaskUpscaler().upscaler !== null;
    const lines = await startLine({});
    expect(lines).toHaveLength(1);
    if (native || process.env.MASKROOM_REQUIRE_ORTX === '1') expect(lines[0]).not.toMatch(/TypeScript/);
    else expect(lines[0]).toMatch(/masks upscaled in TypeScript/);
  });
});
