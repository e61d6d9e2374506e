/**
 * The static build (`vite build web`) served by a bare static file server, as any static host
 * would: the app starts, onnxruntime-web's worker and WebAssembly load from the built files, frames
 * are processed — single-threaded without the isolation headers, cross-origin isolated with them.
 */
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appState, chromiumPath, launchBrowser, makeStillY4m, openApp, repoRoot, serveStatic, tempDir, waitFrames, warnSkipped, type AppBrowser,
} from './app.js';

warnSkipped('test/e2e/build.test.ts');

describe.skipIf(!chromiumPath)('the static build', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let browser: AppBrowser;
  const workers: string[] = [];

  beforeAll(async () => {
    tmp = await tempDir('backdrop-e2e-build-');
    await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir: join(tmp.dir, 'site'), emptyOutDir: true } });
    browser = await launchBrowser({ y4m: await makeStillY4m(tmp.dir, 2) });
    browser.page.on('worker', (w) => workers.push(w.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await tmp?.remove();
  });

  for (const isolated of [false, true]) {
    it(`works from a plain static server ${isolated ? 'with' : 'without'} the COOP/COEP headers`, async () => {
      const server = await serveStatic(join(tmp.dir, 'site'), isolated);
      try {
        workers.length = 0;
        const state = await openApp(browser, server.url);
        await waitFrames(browser.page, 5);
        const after = await appState(browser.page);
        console.log(`static build, ${isolated ? 'isolated' : 'not isolated'}: ${after.metrics.backend}, ${after.metrics.compositor}, ${after.metrics.inferences} inferences; workers ${workers.join(', ')}`);
        expect(state.processed).toBe(true);
        expect(state.messages).toEqual([]);
        expect(after.crossOriginIsolated).toBe(isolated);
        expect(after.metrics.inferences).toBeGreaterThan(0);
        expect(after.metrics.backend).toMatch(/wasm ×1 \(worker\)/);
        expect(workers.some((u) => /\/assets\/ort\.wasm\.bundle\.min-[\w-]+\.js$/.test(u))).toBe(true);
        expect(await browser.page.locator('#status').textContent()).toMatch(isolated ? /· cross-origin isolated \(WebAssembly threads available\)/ : /not cross-origin isolated: the model runs single-threaded/);
      } finally {
        await server.close();
      }
    });
  }
});
