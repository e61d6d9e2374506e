/**
 * Without WebGL (Chromium started with --disable-webgl --disable-webgl2) the processor falls back
 * to the canvas-2D compositor, says so in its metrics, and still produces processed frames.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64, bytesFrom64, callHarness, chromiumPath, grabRgbFrame, launchHarness, makeY4m, startHarnessServer, warnSkipped, type Browser } from './chromium.js';

warnSkipped('fallback.test.ts');

describe.skipIf(!chromiumPath)('WebGL disabled', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startHarnessServer>>;
  let browser: Browser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backdrop-camera-'));
    const y4m = await makeY4m(dir, 2, 640, 360, 30);
    server = await startHarnessServer();
    browser = await launchHarness(server.url, { y4m, extraArgs: ['--disable-webgl', '--disable-webgl2'] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the page really has no WebGL2', async () => {
    expect((await callHarness(browser.page, 'info')).webgl2).toBe(false);
  });

  it('the compositor falls back to canvas 2D and still blurs the background', async () => {
    const rgb = await grabRgbFrame(2, 640, 360);
    const result = await callHarness(browser.page, 'compositeRgb', base64(rgb), 640, 360, { type: 'blur', strength: 50 });
    expect(result.kind).toBe('canvas2d');
    const out = bytesFrom64(result.pixels);
    let diff = 0;
    for (let i = 0; i < 640 * 360; i++) diff += Math.abs(out[i * 4] - rgb[i * 3]);
    expect(diff / (640 * 360)).toBeGreaterThan(2);
  });

  it('the processor produces frames with the canvas-2D compositor and reports the fallback', async () => {
    const run = await callHarness(browser.page, 'runProcessor', 3, { effect: { type: 'blur', strength: 50 } }, 0.5, undefined, 5);
    console.log(`canvas 2D: ${run.frames} frames in ${(run.wallMs / 1000).toFixed(1)} s, metrics ${JSON.stringify(run.metrics)}`);
    expect(run.compositor).toBe('canvas2d');
    expect(run.sizes).toEqual(['640x360']);
    expect(run.frames).toBeGreaterThan(3);
    expect(run.sampledNonBlack).toBeGreaterThan(0);
    expect(run.metrics.fallbacks.join(' ')).toMatch(/canvas 2D instead of WebGL2/);
  });
});
