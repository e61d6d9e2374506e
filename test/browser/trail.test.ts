/**
 * The mask keeps up with a moving person (issue 9): a real person slides sideways across a wall on
 * the fake camera, and when the model keeps up with the camera every processed frame must be cut
 * out with the mask of that same camera frame — the strip of wall the person has just left shows
 * the new background, not the wall.
 *
 * The effect is a half-transparent green over the background, so the output shows both which
 * pixels the mask called background (tinted) and the frame code on the wall (which camera frame
 * this is). For each output frame the mask's age is the k − j whose true person shape (the photo's
 * alpha matte at that frame's position) best matches the untinted pixels. Both pipelines
 * (insertable streams, canvas fallback) and both compositors (WebGL2, canvas 2D).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { CompositorKind } from '../../src/browser/createCompositor.js';
import { bytesFrom64, callHarness, chromiumPath, launchHarness, startHarnessServer, warnSkipped, type Browser } from './chromium.js';
import { makeSlidingPersonY4m, readFrameCode, type SlidingClip } from './slidingPerson.js';
import { tempDir } from '../e2e/app.js';
import { saveRaw } from '../helpers/screenshots.js';

warnSkipped('trail.test.ts');

const TINT: [number, number, number, number] = [0, 255, 0, 128];
/** Ages of the mask considered, in camera frames. */
const MAX_AGE = 4;
/** Pixels of clearance from the person's outline when judging a pixel as surely person or surely wall. */
const CLEAR = 4;

/** True where the output shows the green tint, i.e. where the mask said background. */
function tinted(rgba: Uint8Array, i: number): boolean {
  return rgba[i * 4 + 1] - (rgba[i * 4] + rgba[i * 4 + 2]) / 2 > 60;
}

/** alpha ≥ 250 (surely person) or 0 (surely wall) across ±CLEAR pixels of a row. */
function sure(alpha: Uint8Array, width: number, i: number, person: boolean): boolean {
  const x = i % width;
  for (let d = -CLEAR; d <= CLEAR; d++) {
    if (x + d < 0 || x + d >= width) continue;
    const a = alpha[i + d];
    if (person ? a < 250 : a !== 0) return false;
  }
  return true;
}

interface FrameVerdict {
  k: number;
  /** The mask's age in camera frames: 0 = the frame's own mask. */
  age: number;
  ious: number[];
  /** Share of the strip the person left since the camera's previous frame that shows the new background. */
  strip: number;
  stripPixels: number;
}

function judge(clip: SlidingClip, rgba: Uint8Array): FrameVerdict | undefined {
  const { width, height } = clip;
  const k = readFrameCode(rgba, width);
  if (k < 0 || k >= clip.frames) return undefined;
  const first = clip.codeRows * width;
  const ious: number[] = [];
  for (let j = 0; j <= MAX_AGE; j++) {
    const alpha = clip.alpha(k - j);
    let both = 0, either = 0;
    for (let i = first; i < width * height; i++) {
      const shown = !tinted(rgba, i);
      const truth = alpha[i] >= 128;
      if (shown && truth) both++;
      if (shown || truth) either++;
    }
    ious.push(either ? both / either : 0);
  }
  const age = ious.indexOf(Math.max(...ious));
  const now = clip.alpha(k), before = clip.alpha(k - 1);
  let strip = 0, stripPixels = 0;
  for (let i = first; i < width * height; i++) {
    if (sure(before, width, i, true) && sure(now, width, i, false)) {
      stripPixels++;
      if (tinted(rgba, i)) strip++;
    }
  }
  return { k, age, ious, strip: stripPixels ? strip / stripPixels : NaN, stripPixels };
}

type Case = { pipeline: 'insertable-streams' | 'canvas'; compositor: CompositorKind };

/**
 * The clip on a camera at `fps`, through each case. The camera is slow enough for the model to keep
 * up on a loaded 2-core machine with software WebGL (a mask takes 20–110 ms there); the code
 * before the fix drew each frame with the previous frame's mask (age 1, more under load).
 */
function describeAt(fps: number, cases: Case[]): void {
  describe.skipIf(!chromiumPath)(`the mask keeps up with a person moving sideways, ${fps} fps camera`, () => {
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    let server: Awaited<ReturnType<typeof startHarnessServer>>;
    let browser: Browser;
    let clip: SlidingClip;

    beforeAll(async () => {
      tmp = await tempDir('backdrop-trail-');
      clip = await makeSlidingPersonY4m(tmp.dir, { frames: 32, step: 16, fps });
      server = await startHarnessServer();
      browser = await launchHarness(server.url, { y4m: clip.y4m });
    });

    afterAll(async () => {
      await browser?.close();
      await server?.server.close();
      await tmp?.remove();
    });

    it.each(cases)('$pipeline, $compositor: each frame is cut out with its own mask', async ({ pipeline, compositor }) => {
      const run = await callHarness(browser.page, 'captureProcessed', { effect: { type: 'color', color: TINT }, pipeline, compositor }, 1, 30);
      expect(run.pipeline).toBe(pipeline);
      expect(run.compositor).toBe(compositor);
      const verdicts: FrameVerdict[] = [];
      for (const [n, png] of run.frames.entries()) {
        const rgba = new Uint8Array(await sharp(bytesFrom64(png)).ensureAlpha().raw().toBuffer());
        if (n === 12) await saveRaw(`browser/trail-${pipeline}-${compositor}.png`, rgba, clip.width, clip.height, 4);
        const v = judge(clip, rgba);
        if (v) verdicts.push(v);
      }
      const ages = verdicts.map((v) => v.age);
      const strips = verdicts.filter((v) => v.stripPixels >= 300);
      const meanStrip = strips.reduce((s, v) => s + v.strip, 0) / strips.length;
      const m = run.metrics;
      console.log(`${fps} fps camera, ${pipeline}, ${compositor}: ${run.frames.length} frames, ${verdicts.length} with a readable code; mask age in camera frames ${ages.join(' ')}; ` +
        `strip the person left showing the new background ${strips.map((v) => v.strip.toFixed(2)).join(' ')} (mean ${meanStrip.toFixed(2)}); ` +
        `fps ${m.fps.toFixed(1)}, mask fps ${m.maskFps.toFixed(1)}, inference ${m.ms.inference.toFixed(1)} ms (frame interval ${(1000 / fps).toFixed(1)} ms), total ${m.ms.total.toFixed(1)} ms, dropped ${m.dropped}`);
      expect(verdicts.length).toBeGreaterThanOrEqual(25);
      expect(strips.length).toBeGreaterThanOrEqual(20);
      // Every frame carries its own mask (a rare miss of the age estimate is tolerated, not a habit).
      expect(ages.filter((a) => a === 0).length / ages.length).toBeGreaterThanOrEqual(0.9);
      // So the wall the person just left is covered: with the previous frame's mask it showed.
      // Judged on the frames that carry their own mask: the few a loaded machine lets through with
      // an older one (load average 14: 3 of 30) show the strip, as the age check above allows.
      const own = strips.filter((v) => v.age === 0);
      expect(own.length).toBeGreaterThanOrEqual(0.9 * strips.length);
      expect(own.reduce((s, v) => s + v.strip, 0) / own.length).toBeGreaterThanOrEqual(0.9);
    });
  });
}

describeAt(5, [
  { pipeline: 'insertable-streams', compositor: 'webgl2' },
  { pipeline: 'canvas', compositor: 'webgl2' },
  { pipeline: 'insertable-streams', compositor: 'canvas2d' },
  { pipeline: 'canvas', compositor: 'canvas2d' },
]);
