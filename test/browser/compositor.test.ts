/**
 * The compositors on one real frame, with the Node mask as the reference for which pixels are the
 * person: blur changes the background and keeps the person; a colour background is that colour
 * where the mask is 0; and the WebGL and canvas-2D compositors agree with core's CPU composite.
 * The pictures are saved under out/browser-tests/ for a look.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composite } from '../../src/core/composite.js';
import { upsampleMask } from '../../src/core/postprocess.js';
import { smoothstepMask } from '../../src/core/refine.js';
import type { Frame, Mask } from '../../src/core/frame.js';
import {
  base64, bytesFrom64, callHarness, chromiumPath, floatsFrom64, grabRgbFrame, launchHarness, startHarnessServer, warnSkipped, type Browser,
} from './chromium.js';
import { countPixels, meanDiff as meanDiffOf } from '../helpers/images.js';
import { nodeMasks } from '../helpers/nodeMasks.js';
import { rgbaOf } from '../helpers/pixels.js';
import { saveRaw } from '../helpers/screenshots.js';

warnSkipped('compositor.test.ts');

const W = 640, H = 360;
const save = (name: string, rgba: Uint8Array) => saveRaw(`browser-tests/${name}`, rgba, W, H, 4);

const meanDiff = (a: Uint8Array, b: Uint8Array, bChannels: 3 | 4, select: (i: number) => boolean) => meanDiffOf(a, b, bChannels, W * H, select);

describe.skipIf(!chromiumPath)('compositors on a real frame', () => {
  let server: Awaited<ReturnType<typeof startHarnessServer>>;
  let browser: Browser;
  let rgb: Uint8Array;
  let frame: Frame;
  let reference: Mask; // the Node mask at the frame's size (plain bilinear)
  let refined: Mask; // core's refined mask (bilateral + soft edge), what the compositors draw with
  const person = (i: number) => reference.data[i] > 0.98 && refined.data[i] > 0.999;
  const background = (i: number) => reference.data[i] < 0.02 && refined.data[i] < 0.001;

  beforeAll(async () => {
    server = await startHarnessServer();
    browser = await launchHarness(server.url);
    rgb = await grabRgbFrame(2, W, H);
    frame = { width: W, height: H, channels: 3, data: rgb };
    ({ reference, refined } = await nodeMasks(frame));
    await save('input.png', rgbaOf(rgb));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.server.close();
  });

  it('has enough person and background pixels to judge by', () => {
    const count = countPixels(W * H, person, background);
    expect(count.person).toBeGreaterThan(W * H * 0.05);
    expect(count.background).toBeGreaterThan(W * H * 0.2);
  });

  for (const kind of ['webgl2', 'canvas2d'] as const) {
    it(`${kind}: blur changes the background and keeps the person, close to core's CPU composite`, async () => {
      const result = await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, { type: 'blur', strength: 50 }, {}, kind);
      expect(result.kind).toBe(kind);
      const out = bytesFrom64(result.pixels);
      await save(`blur-${kind}.png`, out);
      const kept = meanDiff(out, rgb, 3, person);
      const changed = meanDiff(out, rgb, 3, background);
      console.log(`${kind} blur: person Δ ${kept.mean.toFixed(2)} (${(kept.within3 * 100).toFixed(1)}% ≤ 3), background Δ ${changed.mean.toFixed(2)}`);
      expect(kept.mean).toBeLessThan(1);
      expect(kept.within3).toBeGreaterThan(0.99);
      expect(changed.mean).toBeGreaterThan(4);

      const cpu = composite(frame, refined, { kind: 'blur', strength: 50 });
      const vsCpu = meanDiff(out, cpu.data as Uint8Array, 3, () => true);
      console.log(`${kind} blur vs core CPU composite: mean Δ ${vsCpu.mean.toFixed(2)}, ${(vsCpu.within3 * 100).toFixed(1)}% of pixels ≤ 3`);
      expect(vsCpu.mean).toBeLessThan(kind === 'canvas2d' ? 0.1 : 1.5);
    });

    it(`${kind}: a colour background is that colour where the mask is 0, the person stays`, async () => {
      const green: [number, number, number, number] = [0, 200, 80, 255];
      const solid = new Uint8Array(W * H * 3);
      for (let i = 0; i < W * H; i++) solid.set(green.slice(0, 3), i * 3);
      // Without light wrapping: background = the colour, person = the frame.
      const plain = bytesFrom64((await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, { type: 'color', color: green }, { lightWrap: 0 }, kind)).pixels);
      const bg = meanDiff(plain, solid, 3, background);
      const kept = meanDiff(plain, rgb, 3, person);
      console.log(`${kind} colour: background Δ from the colour ${bg.mean.toFixed(2)}, person Δ ${kept.mean.toFixed(2)}`);
      expect(bg.within3).toBeGreaterThan(0.999);
      expect(kept.within3).toBeGreaterThan(0.99);

      // With the default light wrapping (0.3): the colour bleeds onto the rim, as core does it.
      const wrapped = bytesFrom64((await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, { type: 'color', color: green }, {}, kind)).pixels);
      await save(`color-${kind}.png`, wrapped);
      expect(meanDiff(wrapped, solid, 3, background).within3).toBeGreaterThan(0.999);
      const cpu = composite(frame, refined, { kind: 'color', color: green }, { lightWrap: 0.3 });
      const vsCpu = meanDiff(wrapped, cpu.data as Uint8Array, 3, () => true);
      console.log(`${kind} colour + light wrap vs core CPU composite: mean Δ ${vsCpu.mean.toFixed(2)}, ${(vsCpu.within3 * 100).toFixed(1)}% of pixels ≤ 3`);
      expect(vsCpu.mean).toBeLessThan(kind === 'canvas2d' ? 0.1 : 0.5);
    });
  }

  it('canvas2d with bilinear edges (its default) draws from the small mask what core draws with the frame-sized one', async () => {
    const green: [number, number, number, number] = [0, 200, 80, 255];
    const cases = [
      [{ type: 'blur', strength: 50 }, { kind: 'blur', strength: 50 }, { lightWrap: 0.3 }],
      [{ type: 'color', color: green }, { kind: 'color', color: green }, { lightWrap: 0 }],
      [{ type: 'color', color: green }, { kind: 'color', color: green }, { lightWrap: 0.3 }],
    ] as const;
    for (const [effect, background, opts] of cases) {
      const result = await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, effect, { refine: 'bilinear', ...opts }, 'canvas2d');
      const out = bytesFrom64(result.pixels);
      // The browser's own model output, refined the long way in Node.
      const low = floatsFrom64(result.mask);
      const side = Math.sqrt(low.length);
      const mask = smoothstepMask(upsampleMask({ width: side, height: side, data: low }, W, H), 0.5, 0.2);
      const cpu = composite(frame, mask, background, opts);
      const d = meanDiff(out, cpu.data as Uint8Array, 3, () => true);
      console.log(`canvas2d bilinear ${effect.type} ${JSON.stringify(opts)} vs core: mean Δ ${d.mean.toFixed(3)}, ${(d.within3 * 100).toFixed(2)}% ≤ 3`);
      // Without a blur or light wrap the picture is the same to the byte; with them, within rounding.
      if (effect.type === 'color' && opts.lightWrap === 0) expect(d.mean).toBe(0);
      else expect(d.mean).toBeLessThan(0.3);
      expect(d.within3).toBeGreaterThan(0.995);
    }
  });

  it('webgl2: image (cover), transparent over a checkerboard and the mask itself render', async () => {
    for (const effect of [{ type: 'image' }, { type: 'transparent' }, { type: 'mask' }] as const) {
      const result = await callHarness(browser.page, 'compositeRgb', base64(rgb), W, H, effect, { lightWrap: 0 }, 'webgl2');
      const out = bytesFrom64(result.pixels);
      await save(`${effect.type}-webgl2.png`, out);
      if (effect.type === 'mask') {
        let hits = 0, n = 0;
        for (let i = 0; i < W * H; i += 7) {
          if (person(i)) { n++; if (out[i * 4] > 250) hits++; }
          if (background(i)) { n++; if (out[i * 4] < 5) hits++; }
        }
        expect(hits / n).toBeGreaterThan(0.99);
      } else {
        expect(meanDiff(out, rgb, 3, person).within3, `${effect.type}: person kept`).toBeGreaterThan(0.99);
        expect(meanDiff(out, rgb, 3, background).mean, `${effect.type}: background replaced`).toBeGreaterThan(20);
      }
    }
  });
});
