/**
 * compositeVideo: Node segments small frames, ffmpeg composites at full size. Asserted on real
 * clips: every output frame carries the mask of its own input frame (a clip whose person jumps
 * side to side every frame would show any pairing slip), the soft edge equals the core's, the
 * background changes while the person stays, and frames, rate and sound are kept.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SOFTNESS, DEFAULT_THRESHOLD } from '../../src/core/effect.js';
import type { Mask } from '../../src/core/frame.js';
import { smoothstepMask, upsampleBilinear } from '../../src/core/refine.js';
import { fitBackground } from '../../src/core/resize.js';
import { streamWorkSize } from '../../src/core/streamMask.js';
import { createBackdrop, type Backdrop, type BackdropOptions } from '../../src/node/facade.js';
import { openBackgroundVideo } from '../../src/node/video/backgroundVideo.js';
import { compositeVideo, compositeUnsupported, workFrameFilter } from '../../src/node/video/ffmpegRenderer.js';
import { softEdgeExpression } from '../../src/node/video/ffmpegGraph.js';
import { clipWithAudio, decodeFrames, ffmpeg, ffmpegBin, makeTempDir, oddClip, probeStreams, run, TALKING_HEAD } from '../helpers/videos.js';
import { testdata } from '../helpers/testdata.js';

const W = 400;
const H = 300;
const FRAMES = 20;
let dir: string;
let cleanup: () => Promise<void>;
/** The talking head, mirrored on every odd frame: the person jumps side to side each frame. */
let jumping: string;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  jumping = join(dir, 'jumping.mp4');
  await ffmpeg([
    '-i', testdata(TALKING_HEAD), '-frames:v', String(FRAMES),
    '-filter_complex', "[0:v]split[a][b];[b]hflip[f];[a][f]blend=all_expr='if(mod(N\\,2)\\,B\\,A)'",
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv444p', jumping,
  ], ffmpegBin);
});
afterAll(() => cleanup());

async function backdropWith(options: BackdropOptions): Promise<Backdrop> {
  return createBackdrop({ model: 'landscape', ...options });
}

/** A video's effect, without smoothing: each frame's mask depends on that frame alone (and on where ROI zoom looked before). */
const streamOf = (backdrop: Backdrop) => backdrop.streamEffect(false);

/**
 * The masks Node makes for the first `count` frames, as the core computes them from the same
 * working-size frames (a fresh stream effect, frames in order; mirrored with `flip`), upsampled
 * with the stream's soft edge.
 */
async function expectedMasks(file: string, backdrop: Backdrop, count: number, rate = { num: 25, den: 1 }, flip = false): Promise<Mask[]> {
  const { width: w, height: h } = streamWorkSize(W, H);
  const r = await run(ffmpegBin, ['-v', 'error', '-i', file, '-vf', workFrameFilter(rate, W, H, flip), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  const effect = streamOf(backdrop);
  const masks: Mask[] = [];
  for (let n = 0; n < count; n++) {
    const work = { width: w, height: h, channels: 3 as const, data: r.stdout.subarray(n * w * h * 3, (n + 1) * w * h * 3) };
    const { threshold, softness } = effect.streamEdge;
    masks.push(smoothstepMask(upsampleBilinear(await effect.streamMask(work), W, H), threshold, softness));
  }
  return masks;
}

/** W × H RGB frames, each mirrored left to right. */
function mirrored(frames: Buffer): Buffer {
  const out = Buffer.alloc(frames.length);
  for (let row = 0; row < frames.length / (W * 3); row++) {
    for (let x = 0, o = row * W * 3; x < W; x++) frames.copy(out, o + (W - 1 - x) * 3, o + x * 3, o + x * 3 + 3);
  }
  return out;
}

/** Mean |a − b| of frame n of an RGB decode (red channel, 0..1) against a mask. */
function maskError(decoded: Buffer, n: number, mask: Mask): number {
  let sum = 0;
  for (let i = 0, o = n * W * H * 3; i < W * H; i++, o += 3) sum += Math.abs(decoded[o] / 255 - mask.data[i]);
  return sum / (W * H);
}

describe('the soft edge in ffmpeg', () => {
  it('is the core smoothstep, also hard and inverted', async () => {
    const ramp = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const rampFile = join(dir, 'ramp.gray');
    await writeFile(rampFile, ramp);
    for (const [threshold, softness, invert] of [[DEFAULT_THRESHOLD, DEFAULT_SOFTNESS, false], [0.3, 0.5, true], [0.6, 0, false]] as const) {
      const r = await run(ffmpegBin, ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', '256x1', '-i', rampFile, '-vf', `lut=c0='${softEdgeExpression(threshold, softness, invert)}'`, '-f', 'rawvideo', 'pipe:1']);
      const core = smoothstepMask({ width: 256, height: 1, data: Float32Array.from(ramp, (v) => v / 255) }, threshold, softness);
      // (A value exactly at a hard threshold may round either way.)
      for (let i = 0; i < 256; i++) if (softness > 0 || Math.abs(i / 255 - threshold) > 1e-6) expect(Math.abs(r.stdout[i] - Math.round((invert ? 1 - core.data[i] : core.data[i]) * 255)), `value ${i}`).toBeLessThanOrEqual(1);
    }
  });
});

describe('compositeVideo', () => {
  it.each([['constant', false], ['variable', true]])('pairs every frame with its own mask (no slip), as the core computes it: %s frame rate', async (_, vfr) => {
    let input = jumping;
    if (vfr) {
      // Frames 6–13 thinned to every 3rd, timestamps kept: the rate varies.
      input = join(dir, 'jumping-vfr.mkv');
      await ffmpeg(['-i', jumping, '-vf', "select='not(between(n\\,6\\,13))+not(mod(n\\,3))'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv444p', input], ffmpegBin);
    }
    const backdrop = await backdropWith({ effect: { type: 'mask' } });
    const out = join(dir, `jumping-mask-${vfr ? 'vfr' : 'cfr'}.mp4`);
    const summary = await compositeVideo({ input, output: out, effect: streamOf(backdrop), crf: 10 });
    expect(summary.frames).toBe(FRAMES);
    const decoded = await decodeFrames(out, 3);
    expect(decoded.length).toBe(FRAMES * W * H * 3);
    const masks = await expectedMasks(input, backdrop, FRAMES);
    await backdrop.close();
    const own = masks.map((m, n) => maskError(decoded, n, m));
    // Against the next frame's mask, where that differs (a variable rate repeats frames).
    const differs = (a: Mask, b: Mask) => a.data.reduce((sum, v, i) => sum + Math.abs(v - b.data[i]), 0) / a.data.length > 0.02;
    const neighbour = masks.slice(1).flatMap((m, n) => (differs(m, masks[n]) ? [maskError(decoded, n, m)] : []));
    expect(neighbour.length).toBeGreaterThan(FRAMES / 2);
    console.log(`mask error per frame: own ≤ ${Math.max(...own).toFixed(4)}, against the next frame's mask ≥ ${Math.min(...neighbour).toFixed(4)}`);
    for (const e of own) expect(e).toBeLessThan(0.01);
    for (const e of neighbour) expect(e).toBeGreaterThan(0.02);
  });

  it.each([['', false], [', mirrored (flip)', true]])('shows each frame\'s own picture where its mask is: the full frames the decoder hands the encoder pair with the masks%s', async (_, flip) => {
    const backdrop = await backdropWith({ effect: { type: 'color', color: [0, 255, 0, 255] } });
    const out = join(dir, `jumping-green${flip ? '-flip' : ''}.mp4`);
    const summary = await compositeVideo({ input: jumping, output: out, effect: streamOf(backdrop), crf: 4, flip });
    expect(summary.frames).toBe(FRAMES);
    // With flip, the model and the compositing both see the picture mirrored.
    const decoded = await decodeFrames(jumping, 3);
    const input = flip ? mirrored(decoded) : decoded;
    const output = await decodeFrames(out, 3);
    expect(output.length).toBe(input.length);
    const masks = await expectedMasks(jumping, backdrop, FRAMES, undefined, flip);
    if (flip) {
      // The facade's flip is this renderer's: ffmpeg composites it, as it does the effect alone.
      const viaFacade = join(dir, 'jumping-green-flip-facade.mp4');
      await backdrop.processVideo(jumping, viaFacade, { flip: true, temporal: false, crf: 4 });
      expect((await decodeFrames(viaFacade, 3)).equals(output)).toBe(true);
    }
    await backdrop.close();
    const size = W * H * 3;
    // Where frame n's mask is sure of the person and frame n + 1 (mirrored) shows something else,
    // the output must show frame n, not its neighbour.
    for (let n = 0; n + 1 < FRAMES; n++) {
      let own = 0, next = 0, count = 0;
      for (let i = 0; i < W * H; i++) {
        const p = n * size + 3 * i, q = p + size;
        if (masks[n].data[i] < 0.99) continue;
        if (Math.abs(input[p] - input[q]) + Math.abs(input[p + 1] - input[q + 1]) + Math.abs(input[p + 2] - input[q + 2]) < 60) continue;
        for (let c = 0; c < 3; c++) {
          own += Math.abs(output[p + c] - input[p + c]);
          next += Math.abs(output[p + c] - input[q + c]);
        }
        count++;
      }
      expect(count, `frame ${n}`).toBeGreaterThan(500);
      expect(own / count, `frame ${n}`).toBeLessThan(next / count / 4);
    }
  });

  it('blurs the background, keeps the person, the frames, the rate and the sound', async () => {
    const clip = await clipWithAudio(dir, 2, 'talk.mp4');
    const backdrop = await backdropWith({ effect: { type: 'blur', strength: 60 } });
    const out = join(dir, 'talk-blur.mp4');
    // Near-lossless, so the detail measured is the effect's, not the encoder's.
    const summary = await compositeVideo({ input: clip, output: out, effect: streamOf(backdrop), crf: 4 });
    const [inV, inA] = await probeStreams(clip);
    const streams = await probeStreams(out);
    const v = streams.find((s) => s.type === 'video')!;
    const a = streams.find((s) => s.type === 'audio')!;
    expect(summary.frames).toBe(inV.frames);
    expect(v.frames).toBe(inV.frames);
    expect(v.rFrameRate).toBe('25/1');
    expect(Math.abs(a.duration! - inA.duration!)).toBeLessThan(0.1);
    const input = await decodeFrames(clip, 3);
    const output = await decodeFrames(out, 3);
    const [mask] = await expectedMasks(clip, backdrop, 1);
    // The same frame through the core's own compositing, for scale.
    backdrop.effect.setOptions({ temporal: false });
    const core = Buffer.from((await backdrop.effect.process({ width: W, height: H, channels: 3, data: input.subarray(0, W * H * 3) })).data);
    await backdrop.close();
    // Detail: mean |horizontal step| over the input's edges (steps > 10) where the mask is sure.
    // Blurred, the background's edges fade; the person's stay.
    const step = (img: Uint8Array, i: number): number => (Math.abs(img[3 * i] - img[3 * i + 3]) + Math.abs(img[3 * i + 1] - img[3 * i + 4]) + Math.abs(img[3 * i + 2] - img[3 * i + 5])) / 3;
    const detail = (img: Uint8Array, where: (i: number) => boolean): number => {
      let sum = 0, n = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x + 1 < W; x++) {
          const i = y * W + x;
          if (!where(i) || !where(i + 1) || step(input, i) <= 10) continue;
          sum += step(img, i);
          n++;
        }
      }
      return sum / n;
    };
    const person = (i: number) => mask.data[i] > 0.99;
    const background = (i: number) => mask.data[i] < 0.01;
    const ratio = { person: detail(output, person) / detail(input, person), background: detail(output, background) / detail(input, background) };
    const coreBackground = detail(core, background) / detail(input, background);
    console.log(`frame 0: detail kept on the person ${ratio.person.toFixed(2)}, on the background ${ratio.background.toFixed(2)} (core compositing: ${coreBackground.toFixed(2)})`);
    expect(ratio.person).toBeGreaterThan(0.8);
    expect(ratio.background).toBeLessThan(0.4);
    expect(ratio.background).toBeLessThan(coreBackground + 0.1);
  });

  it('lays the person over a background image fitted like photos, at an odd size', async () => {
    const clip = await oddClip(dir, 401, 301, 1);
    const backdrop = await backdropWith({ effect: { type: 'image', path: 'assets/hubble_deep_field.jpg' } });
    const out = join(dir, 'odd-image.mp4');
    const summary = await compositeVideo({ input: clip, output: out, effect: streamOf(backdrop), crf: 12 });
    expect([summary.width, summary.height]).toEqual([402, 302]);
    const fx = backdrop.effect.effect;
    if (fx.type !== 'image') throw new Error('expected an image effect');
    const still = fitBackground(fx.images[0], 401, 301, 'cover');
    const frame = await sharp(await decodeFrames(out, 3), { raw: { width: 402, height: 302, channels: 3 } }).extract({ left: 0, top: 0, width: 401, height: 301 }).raw().toBuffer();
    // The top-left corner is background in this clip: it shows the picture.
    let diff = 0, n = 0;
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 60; x++) {
        for (let c = 0; c < 3; c++) {
          diff += Math.abs(frame[(y * 401 + x) * 3 + c] - still.data[(y * 401 + x) * still.channels + c]);
          n++;
        }
      }
    }
    await backdrop.close();
    expect(diff / n).toBeLessThan(12);
  });

  it('plays a background video behind the person as BackgroundVideo picks its pictures: by time, looped, cover-fitted', async () => {
    // 6 pictures at 10 fps, 16:9 (cover crops its sides), mirrored on every odd one so that
    // neighbours differ everywhere; the 20 output frames at 25 fps (0.8 s) loop it once.
    const bg = join(dir, 'bg-jumping.mp4');
    await ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10', '-frames:v', '6',
      '-filter_complex', "[0:v]split[a][b];[b]hflip[f];[a][f]blend=all_expr='if(mod(N\\,2)\\,B\\,A)'",
      '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv444p', bg,
    ], ffmpegBin);
    const backdrop = await backdropWith({ effect: { type: 'video', path: bg } });
    const out = join(dir, 'jumping-bg-video.mp4');
    const summary = await compositeVideo({ input: jumping, output: out, effect: streamOf(backdrop), crf: 4 });
    expect(summary.frames).toBe(FRAMES);
    const output = await decodeFrames(out, 3);
    const masks = await expectedMasks(jumping, backdrop, FRAMES);
    // The facade sends a video background to ffmpeg too.
    const viaFacade = join(dir, 'jumping-bg-video-facade.mp4');
    await backdrop.processVideo(jumping, viaFacade, { temporal: false, crf: 4 });
    expect((await decodeFrames(viaFacade, 3)).equals(output)).toBe(true);
    await backdrop.close();
    // What Node's compositing shows behind frame n (at 40·n ms), and the picture after it.
    const reference = await openBackgroundVideo(bg);
    const blank = { width: W, height: H, channels: 3 as const, data: new Uint8Array(W * H * 3) };
    const pictures: Buffer[] = [];
    for (let n = 0; n < FRAMES; n++) pictures.push(Buffer.from((await reference.frameFor({ ...blank, timestamp: 40 * n })).data));
    const later = Buffer.from((await reference.frameFor({ ...blank, timestamp: 40 * FRAMES + 100 })).data);
    await reference.close();
    const size = W * H * 3;
    const error = (n: number, picture: Buffer): number => {
      let sum = 0, count = 0;
      for (let i = 0; i < W * H; i++) {
        if (masks[n].data[i] >= 0.01) continue;
        for (let c = 0; c < 3; c++) sum += Math.abs(output[n * size + 3 * i + c] - picture[3 * i + c]);
        count += 3;
      }
      return sum / count;
    };
    for (let n = 0; n < FRAMES; n++) {
      // Frame n's picture, not its neighbour's (the pictures alternate mirrored: 0.4 of one a frame).
      const next = pictures.find((p, m) => m > n && !p.equals(pictures[n])) ?? later;
      expect(error(n, pictures[n]), `frame ${n}`).toBeLessThan(8);
      expect(error(n, pictures[n]), `frame ${n}`).toBeLessThan(error(n, next) / 3);
    }
  });

  it('shows a background video in its own colours when it uses another YUV matrix than the input', async () => {
    // Green, encoded and tagged BT.709; the input is untagged (BT.601). Read as the input's, its
    // YUV would show (20, 255, 8).
    const bg = join(dir, 'bg-green-709.mp4');
    await ffmpeg([
      '-f', 'lavfi', '-i', 'color=c=0x00FF00:size=320x180:rate=10', '-t', '0.5',
      '-vf', 'format=rgb24,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', bg,
    ], ffmpegBin);
    const backdrop = await backdropWith({ effect: { type: 'video', path: bg } });
    const out = join(dir, 'jumping-bg-green.mp4');
    await compositeVideo({ input: jumping, output: out, effect: streamOf(backdrop), crf: 4 });
    const output = await decodeFrames(out, 3);
    const [mask] = await expectedMasks(jumping, backdrop, 1);
    await backdrop.close();
    const sum = [0, 0, 0];
    let count = 0;
    for (let i = 0; i < W * H; i++) {
      if (mask.data[i] >= 0.01) continue;
      for (let c = 0; c < 3; c++) sum[c] += output[3 * i + c];
      count++;
    }
    const colour = sum.map((v) => Math.round(v / count));
    for (const [c, want] of [0, 255, 0].entries()) expect(Math.abs(colour[c] - want), `colour ${colour}`).toBeLessThan(6);
  });

  it('writes a transparent WebM whose alpha is the mask', async () => {
    const backdrop = await backdropWith({ effect: { type: 'transparent' } });
    const out = join(dir, 'jumping.webm');
    await compositeVideo({ input: jumping, output: out, effect: streamOf(backdrop), crf: 10 });
    const rgba = await decodeFrames(out, 4, ['-c:v', 'libvpx-vp9']);
    const masks = await expectedMasks(jumping, backdrop, 3);
    await backdrop.close();
    for (let n = 0; n < 3; n++) {
      let sum = 0;
      for (let i = 0; i < W * H; i++) sum += Math.abs(rgba[(n * W * H + i) * 4 + 3] / 255 - masks[n].data[i]);
      expect(sum / (W * H)).toBeLessThan(0.03);
    }
  });

  it('writes a mask to PNG frames as grey pixels, the same mask as in a video', async () => {
    // An RGB output once pulled RGB up the mask's chain, so the soft edge reached the red channel only.
    const backdrop = await backdropWith({ effect: { type: 'mask' } });
    const folder = join(dir, 'mask-frames/');
    const summary = await compositeVideo({ input: jumping, output: folder, effect: streamOf(backdrop) });
    expect(summary.frames).toBe(FRAMES);
    const masks = await expectedMasks(jumping, backdrop, 2);
    await backdrop.close();
    for (let n = 0; n < 2; n++) {
      const { data, info } = await sharp(join(folder, `${String(n).padStart(6, '0')}.png`)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([W, H]);
      let grey = true, error = 0;
      for (let i = 0, p = 0; i < W * H; i++, p += info.channels) {
        if (data[p] !== data[p + 1] || data[p] !== data[p + 2]) grey = false;
        error += Math.abs(data[p] / 255 - masks[n].data[i]);
      }
      expect(grey).toBe(true);
      expect(error / (W * H)).toBeLessThan(0.01);
    }
  });

  it('says which effects it cannot render', async () => {
    // A stream's guided (default) and bilinear edges are made for ffmpeg; bilateral ones, a photo's
    // effect, see-through colours and backgrounds from a provider of your own are not.
    const backdrop = await createBackdrop({ model: 'landscape' });
    expect(compositeUnsupported(backdrop.streamEffect())).toBeNull();
    expect(compositeUnsupported(backdrop.effect)).toMatch(/photo's effect/);
    await backdrop.close();
    const bilateral = await createBackdrop({ model: 'landscape', refine: 'bilateral' });
    expect(compositeUnsupported(bilateral.streamEffect())).toMatch(/--refine bilateral edges are computed in Node/);
    await bilateral.close();
    const seeThrough = await backdropWith({ effect: { type: 'color', color: [0, 0, 0, 128] } });
    expect(compositeUnsupported(seeThrough.streamEffect())).toMatch(/see-through/);
    await seeThrough.close();
    const own = await backdropWith({ effect: { type: 'video', source: { frameFor: async (f) => f } } });
    expect(compositeUnsupported(own.streamEffect())).toMatch(/provider of your own/);
    await own.close();
  });
});
