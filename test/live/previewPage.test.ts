/**
 * The preview page in a real browser (Chromium), driving the built command
 * (`node dist/node/cli.js`, so run `npm run build` first): a looping .y4m camera with a folder of
 * two backgrounds. The page shows the processed stream and the frame rate; its keys work as the
 * terminal's do: `f` draws the FPS meter on the frames, `d` and `a` move to the next and previous
 * background, `q` ends the session. Screenshots of the page go to out/live/.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser as PlaywrightBrowser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { fitBackground } from '../../src/core/resize.js';
import { decodeImage } from '../../src/node/imageIO.js';
import { baseArgs, chromiumPath, repoRoot, warnSkipped } from '../browser/chromium.js';
import { freePort, loopingLavfiSpec, makeY4m, startLiveCommand } from '../helpers/live.js';
import { outPath } from '../helpers/screenshots.js';
import { THOUGHTFUL, makeTempDir } from '../helpers/videos.js';

warnSkipped('previewPage.test.ts');

const W = 640;
const H = 360;
/** Background in every frame of the clip (the person sits in the middle): the top-right corner. */
const BG = { x0: 500, x1: 630, y0: 10, y1: 110 };
/** Where the FPS meter draws (top-left by default), also background in this clip. */
const METER = { x0: 0, x1: 200, y0: 0, y1: 50 };
const BACKGROUNDS = ['hubble_deep_field.jpg', 'rocket.jpg'];

let dir: string;
let cleanup: () => Promise<void>;
let y4m: string;
let folder: string;
/** The two backgrounds as the command fits them to the frame (cover), in folder order. */
let fitted: Frame[];

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  y4m = await makeY4m(dir, THOUGHTFUL, { seconds: 2 });
  folder = join(dir, 'backgrounds');
  await mkdir(folder);
  fitted = [];
  for (const [i, name] of BACKGROUNDS.entries()) {
    // Numbered so the folder's order is this order.
    await copyFile(join(repoRoot, 'assets', name), join(folder, `${i}-${name}`));
    fitted.push(fitBackground((await decodeImage(join(repoRoot, 'assets', name))).frame, W, H, 'cover'));
  }
});
afterAll(() => cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The newest processed frame, from the preview's /frame.jpg. */
async function grab(url: string): Promise<Frame> {
  const res = await fetch(new URL('frame.jpg', url));
  expect(res.status).toBe(200);
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([W, H]);
  return { width: W, height: H, channels: info.channels as 3, data };
}

/** Mean |Δ| per channel between two frames over a rectangle. */
function regionDiff(a: Frame, b: Frame, r: typeof BG): number {
  let sum = 0;
  let n = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[(y * W + x) * a.channels + c] - b.data[(y * W + x) * b.channels + c]);
      n += 3;
    }
  }
  return sum / n;
}

/** Which of the two backgrounds the frame shows behind the person, by the background corner. */
function shownBackground(f: Frame): { index: number; diffs: number[] } {
  const diffs = fitted.map((bg) => regionDiff(f, bg, BG));
  return { index: diffs[0] < diffs[1] ? 0 : 1, diffs };
}

/** Pixels in the meter's corner that are near white (the meter's text; both backgrounds are dark there). */
function meterPixels(f: Frame): number {
  let n = 0;
  for (let y = METER.y0; y < METER.y1; y++) {
    for (let x = METER.x0; x < METER.x1; x++) {
      const p = (y * W + x) * f.channels;
      if (f.data[p] > 220 && f.data[p + 1] > 220 && f.data[p + 2] > 220) n++;
    }
  }
  return n;
}

/** Poll frames until `ok` holds for one (or the time runs out); returns the last frame. */
async function until(url: string, ok: (f: Frame) => boolean, what: string, timeoutMs = 20_000): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const f = await grab(url);
    if (ok(f)) return f;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!chromiumPath)('the preview page in Chromium', () => {
  it('shows the stream and the frame rate; f, d, a and q work from the page', async () => {
    for (const bg of fitted) expect(meterPixels(bg), 'the meter corner of the backgrounds must be dark').toBeLessThan(50);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const cmd = await startLiveCommand([loopingLavfiSpec(y4m), `--preview=${port}`, '--background', folder, '--json']);
    let browser: PlaywrightBrowser | null = null;
    try {
      expect(cmd.stderr).toContain(`preview: ${url}`);

      browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: baseArgs });
      const page: Page = await browser.newPage({ viewport: { width: 800, height: 480 } });
      await page.goto(url);
      // The stream plays in the <img> at the camera's size, and the page reads the frame rate.
      await page.waitForFunction(() => {
        const img = document.getElementById('view') as HTMLImageElement | null;
        return !!img && img.naturalWidth === 640 && img.naturalHeight === 360;
      }, undefined, { timeout: 30_000 });
      await page.waitForFunction(() => /^\d+\.\d fps/.test(document.getElementById('fps')?.textContent ?? ''), undefined, { timeout: 30_000 });

      const first = await grab(url);
      const before = shownBackground(first);
      expect(before.index, JSON.stringify(before.diffs)).toBe(0);
      expect(meterPixels(first)).toBeLessThan(50);
      await page.screenshot({ path: await outPath('live/preview.png') });

      // f: the FPS meter appears on the frames themselves.
      await page.keyboard.press('f');
      const metered = await until(url, (f) => meterPixels(f) > 300, 'the FPS meter');
      expect(shownBackground(metered).index).toBe(0);

      // d: the next background from the folder.
      await page.keyboard.press('d');
      const next = await until(url, (f) => shownBackground(f).index === 1, 'the second background');
      const after = shownBackground(next);
      // Clearly the other picture, not noise between two similar ones.
      expect(after.diffs[0], JSON.stringify(after.diffs)).toBeGreaterThan(2 * after.diffs[1]);
      expect(meterPixels(next)).toBeGreaterThan(300);
      await page.waitForTimeout(300); // let the <img> show a frame with the new background
      await page.screenshot({ path: await outPath('live/preview-next-background-fps.png') });

      // a: back to the first one.
      await page.keyboard.press('a');
      await until(url, (f) => shownBackground(f).index === 0, 'the first background again');

      // q: the session ends as if quit from the terminal.
      await page.keyboard.press('q');
      const code = await Promise.race([cmd.exited, sleep(20_000).then(() => 'still running')]);
      expect(code, cmd.stderr).toBe(0);
    } finally {
      await browser?.close();
      if (cmd.running) cmd.child.kill('SIGKILL');
    }
    const summary = JSON.parse(cmd.stdout) as { stoppedBy: string; frames: number };
    expect(summary.stoppedBy).toBe('key');
    expect(summary.frames).toBeGreaterThan(0);
  });
});
