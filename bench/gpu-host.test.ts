import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { hostNote, hostProfile } from './gpu-host.js';

describe('hostProfile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maskroom-host-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('times the engine decode of a real image and names the CPU', async () => {
    const file = path.join(dir, 'frame.jpg');
    const jpeg = await sharp({ create: { width: 96, height: 54, channels: 3, background: '#4080c0' } })
      .jpeg()
      .toBuffer();
    writeFileSync(file, jpeg);
    const h = await hostProfile(file, 3);
    expect(h.cpu.length).toBeGreaterThan(0);
    expect(h.threads).toBeGreaterThanOrEqual(1);
    expect(h.decode).toMatchObject({ image: 'frame.jpg', runs: 3 });
    // The decoder is named: libjpeg-turbo where it is installed (CI), sharp with the reason elsewhere.
    expect(h.decode.via).toMatch(
      process.env.MASKROOM_REQUIRE_ORTX === '1'
        ? /^libjpeg-turbo \(libturbojpeg/
        : /^(libjpeg-turbo|sharp) \(/,
    );
    expect(h.decode.p50Ms).toBeGreaterThan(0);
    expect(hostNote(h)).toMatch(
      /^host: .+, \d+ threads; image decode .* of frame\.jpg: p50 \d+\.\d\d ms over 3 runs$/,
    );
  });

  it('refuses a file that is not an image, and a run count below one', async () => {
    const bad = path.join(dir, 'not-an-image.jpg');
    writeFileSync(bad, 'plain text, not a JPEG');
    await expect(hostProfile(bad, 2)).rejects.toThrow(
      /cannot decode .*not-an-image\.jpg: not a supported image/,
    );
    await expect(hostProfile(bad, 0)).rejects.toThrow(/runs must be a positive integer/);
  });
});
