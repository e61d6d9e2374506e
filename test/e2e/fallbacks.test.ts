/**
 * The web app when things are missing, in real Chromium: camera permission denied, no camera at
 * all (each: a clear message and the sample clip, processed and moving), and WebGL switched off by
 * a flag (a message, and the canvas-2D compositor still applying the effect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outPath } from '../helpers/screenshots.js';
import {
  appState, chromiumPath, grab, launchBrowser, makeStillY4m, openApp, startAppServer, tempDir, waitFrames, warnSkipped, type AppBrowser, type CameraMode,
} from './app.js';

warnSkipped('test/e2e/fallbacks.test.ts');

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) if (i % 4 !== 3) sum += Math.abs(a[i] - b[i]);
  return sum / ((a.length / 4) * 3);
}

describe.skipIf(!chromiumPath)('the web app without a camera or WebGL', () => {
  let server: Awaited<ReturnType<typeof startAppServer>>;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let browser: AppBrowser | undefined;

  beforeAll(async () => {
    tmp = await tempDir('backdrop-e2e-fallbacks-');
    server = await startAppServer();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await tmp?.remove();
  });

  const cases: { camera: CameraMode; code: string; level: string; text: RegExp }[] = [
    { camera: 'denied', code: 'camera-denied', level: 'error', text: /Camera access was denied\. Showing a sample clip instead/ },
    { camera: 'none', code: 'no-camera', level: 'warning', text: /No camera was found\. Showing a sample clip instead/ },
  ];

  for (const c of cases) {
    it(`camera ${c.camera}: says so and plays the sample clip through the processor`, async () => {
      browser = await launchBrowser({ camera: c.camera });
      try {
        const state = await openApp(browser, server.url);
        const message = state.messages.find((m) => m.code === c.code);
        console.log(`camera ${c.camera}: "${message?.text}"`);
        expect(message?.level).toBe(c.level);
        expect(message?.text).toMatch(c.text);
        expect(state.source).toBe('sample');
        expect(state.processed).toBe(true);
        expect(await browser.page.locator(`[data-code="${c.code}"]`).isVisible()).toBe(true);
        expect(await browser.page.locator('#source-badge').textContent()).toBe('Sample clip');
        expect(await browser.page.locator('#camera-retry').isVisible()).toBe(true);
        expect(await browser.page.locator('#camera').inputValue()).toBe('sample');
        // It plays: frames keep coming and the picture moves (a slow pan and zoom).
        await waitFrames(browser.page, 5);
        const a = await grab(browser.page);
        await browser.page.waitForTimeout(1000);
        await waitFrames(browser.page, 3);
        const b = await grab(browser.page);
        expect([a.width, a.height]).toEqual([640, 360]);
        const moved = meanAbsDiff(a.data, b.data);
        console.log(`sample clip: ${JSON.stringify({ fps: (await appState(browser.page)).metrics.fps })}, moved Δ ${moved.toFixed(2)}`);
        expect(moved).toBeGreaterThan(0.5);
        if (c.camera === 'denied') {
          await browser.page.screenshot({ path: await outPath('e2e/camera-denied.png') });
        }
      } finally {
        await browser.close();
        browser = undefined;
      }
    });
  }

  it('WebGL disabled by a flag: says so and applies the effect with the canvas-2D compositor', async () => {
    const y4m = await makeStillY4m(tmp.dir, 2);
    browser = await launchBrowser({ y4m, extraArgs: ['--disable-webgl', '--disable-webgl2'] });
    const state = await openApp(browser, server.url);
    const message = state.messages.find((m) => m.code === 'webgl-missing');
    console.log(`no WebGL: "${message?.text}"`);
    expect(message?.level).toBe('warning');
    expect(message?.text).toMatch(/WebGL2 is not available here .*canvas-2D fallback/);
    expect(state.processed).toBe(true);
    expect(state.metrics.compositor).toBe('canvas2d');
    await waitFrames(browser.page, 3);
    const blurred = await grab(browser.page);
    await browser.page.check('input[name="effect"][value="none"]');
    await waitFrames(browser.page, 3);
    const raw = await grab(browser.page);
    const changed = meanAbsDiff(blurred.data, raw.data);
    console.log(`canvas 2D: ${JSON.stringify((await appState(browser.page)).metrics.fps)} fps, blur vs none Δ ${changed.toFixed(2)}`);
    expect(changed).toBeGreaterThan(2);
    await browser.page.screenshot({ path: await outPath('e2e/no-webgl.png') });
  });
});
