import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import type { FrameProcessor } from '../../src/core/processor.js';
import { processVideo } from '../../src/node/video/nodeRenderer.js';
import {
  clipWithAudio,
  decodeErrors,
  decodeFrames,
  ffprobeBin,
  invert,
  makeTempDir,
  npmFfmpeg,
  ntscClip,
  oddClip,
  probeStreams,
  rotatedClip,
  run,
  vfrClip,
  type StreamFacts,
} from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

/** RGB → RGBA, transparent on the left half (stands in for "background removed"). */
const cutLeftHalf: FrameProcessor = {
  process(frame: Frame): Frame {
    const { width, height } = frame;
    const data = new Uint8Array(width * height * 4);
    for (let p = 0, q = 0; p < width * height; p++, q += frame.channels) {
      data[p * 4] = frame.data[q];
      data[p * 4 + 1] = frame.data[q + 1];
      data[p * 4 + 2] = frame.data[q + 2];
      data[p * 4 + 3] = p % width < width / 2 ? 0 : 255;
    }
    return { width, height, channels: 4, data, timestamp: frame.timestamp };
  },
};

function video(streams: StreamFacts[]): StreamFacts {
  const v = streams.find((s) => s.type === 'video');
  if (!v) throw new Error('no video stream');
  return v;
}
function audio(streams: StreamFacts[]): StreamFacts[] {
  return streams.filter((s) => s.type === 'audio');
}

async function tempLeftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
}

/** The acceptance checks shared by every file→file run. */
async function expectFaithful(input: string, output: string, rate: string): Promise<void> {
  const inS = await probeStreams(input);
  const outS = await probeStreams(output);
  const vin = video(inS);
  const vout = video(outS);
  const frameSec = 1 / eval(rate); // e.g. 30000/1001
  expect(vout.rFrameRate).toBe(rate);
  expect(vout.avgFrameRate).toBe(rate);
  expect(Math.abs(vout.frames! - vin.frames!)).toBeLessThanOrEqual(1);
  expect(Math.abs(vout.duration! - vin.duration!)).toBeLessThanOrEqual(frameSec + 1e-6);
  const ain = audio(inS);
  const aout = audio(outS);
  expect(aout).toHaveLength(ain.length);
  for (let i = 0; i < ain.length; i++) expect(Math.abs(aout[i].duration! - ain[i].duration!)).toBeLessThanOrEqual(0.1);
  expect(await decodeErrors(output)).toBe('');
}

describe('processVideo: faithful output', () => {
  it('keeps frame count, duration, rate and audio (H.264 + AAC MP4), and applies the processors', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'inverted.mp4');
    const progress: [number, number | undefined][] = [];
    const summary = await processVideo({ input, output, processors: [invert], onProgress: (done, total) => progress.push([done, total]) });
    expect(summary.frames).toBe(75);
    expect(summary.sink.audio).toEqual(['copy']);
    expect(summary.timings.processMs).toBeGreaterThan(0);
    expect(progress).toHaveLength(75);
    expect(progress[74]).toEqual([75, 75]);
    await expectFaithful(input, output, '25/1');
    expect(audio(await probeStreams(output))[0].codec).toBe('aac');
    // The pixels are the inverse of the input's.
    const a = await decodeFrames(input, 3);
    const b = await decodeFrames(output, 3);
    expect(b.length).toBe(a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i += 97) diff += Math.abs(255 - a[i] - b[i]);
    expect(diff / Math.ceil(a.length / 97)).toBeLessThan(6);
    expect(await tempLeftovers()).toEqual([]);
  });

  it('keeps 29.97 fps exactly (30000/1001)', async () => {
    const input = await ntscClip(dir, 2);
    const output = join(dir, 'ntsc-out.mp4');
    const summary = await processVideo({ input, output });
    expect(summary.frameRate).toEqual({ num: 30000, den: 1001 });
    await expectFaithful(input, output, '30000/1001');
  });

  it('works with the npm ffmpeg and no ffprobe', async () => {
    if (!npmFfmpeg) return;
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'npm-ffmpeg.mp4');
    const summary = await processVideo({ input, output, processors: [invert], ffmpegPath: npmFfmpeg, ffprobePath: null });
    expect(summary.inputInfo.probedWith).toBe('ffmpeg');
    await expectFaithful(input, output, '25/1');
  });

  it('odd sizes: 401×301 becomes 402×302 with the edge repeated and every pixel kept', async () => {
    const input = await oddClip(dir);
    const output = join(dir, 'odd-out.mp4');
    const summary = await processVideo({ input, output });
    expect(summary).toMatchObject({ width: 402, height: 302 });
    const v = video(await probeStreams(output));
    expect(v).toMatchObject({ width: 402, height: 302, frames: 50 });
    const a = await decodeFrames(input, 3);
    const b = await decodeFrames(output, 3);
    let diff = 0;
    let n = 0;
    let edge = 0;
    for (let y = 0; y < 301; y += 7) {
      for (let x = 0; x < 401; x += 5) {
        for (let c = 0; c < 3; c++) {
          diff += Math.abs(a[(y * 401 + x) * 3 + c] - b[(y * 402 + x) * 3 + c]);
          n++;
        }
      }
      for (let c = 0; c < 3; c++) edge += Math.abs(b[(y * 402 + 401) * 3 + c] - b[(y * 402 + 400) * 3 + c]);
    }
    expect(diff / n).toBeLessThan(4);
    expect(edge / ((301 / 7) * 3)).toBeLessThan(8);
    expect(await decodeErrors(output)).toBe('');
  });

  it('rotation metadata: the output is upright in display size and carries no rotation', async () => {
    const input = await rotatedClip(dir, await clipWithAudio(dir, 3));
    const output = join(dir, 'rotated-out.mp4');
    const summary = await processVideo({ input, output });
    expect(summary).toMatchObject({ width: 300, height: 400, frames: 75 });
    const v = video(await probeStreams(output));
    expect(v).toMatchObject({ width: 300, height: 400 });
    expect(v.tags.rotate).toBeUndefined();
    const { stdout } = await run(ffprobeBin!, ['-v', 'error', '-show_streams', output]);
    expect(stdout.toString()).not.toMatch(/rotation=-?90/);
    await expectFaithful(input, output, '25/1');
  });

  it('variable frame rate input: every output frame shows the picture of its time, audio the same length', async () => {
    const { vfr, cfr } = await vfrClip(dir);
    const output = join(dir, 'vfr-out.mp4');
    const summary = await processVideo({ input: vfr, output, crf: 10 });
    expect(summary.inputInfo.variableFrameRate).toBe(true);
    const outS = await probeStreams(output);
    const v = video(outS);
    expect(v.rFrameRate).toBe('25/1');
    expect(v.frames).toBe(100);
    expect(Math.abs(audio(outS)[0].duration! - 4)).toBeLessThanOrEqual(0.1);
    // Match each output frame to the constant-rate ramp by brightness: it must show the latest
    // kept source frame at or before its time (frames 20–79 were thinned to every 3rd), give or
    // take one frame of brightness ambiguity. Had timestamps been ignored, the frames after the
    // thinned part would run up to 40 frames ahead.
    const ref = await decodeFrames(cfr, 3);
    const out = await decodeFrames(output, 3);
    const size = 160 * 120 * 3;
    const mean = (buf: Buffer, i: number): number => {
      let s = 0;
      for (let k = i * size; k < (i + 1) * size; k += 3) s += buf[k];
      return s / (size / 3);
    };
    const refMeans = Array.from({ length: 100 }, (_, i) => mean(ref, i));
    const latestKept = (i: number): number => (i < 20 || i > 79 ? i : Math.max(19, i - (i % 3)));
    for (let i = 0; i < 100; i++) {
      const m = mean(out, i);
      let best = 0;
      for (let j = 1; j < 100; j++) if (Math.abs(refMeans[j] - m) < Math.abs(refMeans[best] - m)) best = j;
      expect(Math.abs(best - latestKept(i)), `output frame ${i} looks like source frame ${best}`).toBeLessThanOrEqual(1);
    }
    expect(await decodeErrors(output)).toBe('');
  });

  it('a time range keeps video and audio of the same length', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'range.mp4');
    const summary = await processVideo({ input, output, from: 1, to: 2.5 });
    // Frames at 1.00, 1.04, … 2.48 s.
    expect(summary.frames).toBe(38);
    const s = await probeStreams(output);
    expect(video(s).duration!).toBeCloseTo(1.5, 1);
    expect(Math.abs(audio(s)[0].duration! - 1.5)).toBeLessThanOrEqual(0.1);
  });
  it('a frame range runs the processors on those frames only; the stage timings are measured', async () => {
    const input = await clipWithAudio(dir, 3);
    const processed: number[] = [];
    const counting: FrameProcessor = { process: (f) => (processed.push(f.timestamp!), invert.process(f)) };
    const summary = await processVideo({ input, output: join(dir, 'in-range.mp4'), to: 0.4, range: { unit: 'frame', from: 3, to: 6 }, processors: [counting] });
    expect(summary.frames).toBe(10);
    expect(processed).toEqual([120, 160, 200]);
    const { decodeWaitMs, processMs, encodeWaitMs, totalMs, setupMs, finishMs } = summary.timings;
    for (const ms of [decodeWaitMs, processMs, encodeWaitMs, totalMs, setupMs, finishMs]) expect(ms).toBeGreaterThanOrEqual(0);
    expect(encodeWaitMs).toBeGreaterThan(0);
    const a = await decodeFrames(input, 3);
    const b = await decodeFrames(join(dir, 'in-range.mp4'), 3);
    const size = 400 * 300 * 3;
    const inverted = (n: number) => {
      let d = 0;
      for (let i = n * size; i < (n + 1) * size; i += 101) d += Math.abs(255 - a[i] - b[i]);
      return d / (size / 101) < 10;
    };
    expect([0, 2, 3, 5, 6, 9].map(inverted)).toEqual([false, false, true, true, false, false]);
  });

  it('a frame range past the last frame is an error, not an untouched copy, and leaves nothing behind', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'past-end.mp4');
    const processed: number[] = [];
    const counting: FrameProcessor = { process: (f) => (processed.push(f.timestamp!), invert.process(f)) };
    await expect(processVideo({ input, output, to: 0.4, range: { unit: 'frame', from: 10 }, processors: [counting] })).rejects.toThrow(
      /effect range \(from frame 10\) holds none of the video's 10 frames: it starts past the end/,
    );
    expect(processed).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.includes('past-end'))).toEqual([]);
  });

  it('a processor reused for another file forgets the previous one first (resetTemporal)', async () => {
    const input = await clipWithAudio(dir, 3);
    const events: string[] = [];
    const remembering = { process: (f: Frame) => (events.push('frame'), f), resetTemporal: () => events.push('reset') };
    await processVideo({ input, output: join(dir, 'reuse-1.mp4'), to: 0.08, processors: [remembering] });
    await processVideo({ input, output: join(dir, 'reuse-2.mp4'), to: 0.08, processors: [remembering] });
    expect(events).toEqual(['reset', 'frame', 'frame', 'reset', 'frame', 'frame']);
  });

  it('awkward names: a colon, a percent sign and a leading dash in file and folder names', async () => {
    const input = join(dir, '-clip:1 %d.mp4');
    await copyFile(await clipWithAudio(dir, 3), input);
    const output = join(dir, 'frames %03d');
    const summary = await processVideo({ input, output, to: 0.2, transparent: true, processors: [cutLeftHalf] });
    expect(summary.frames).toBe(5);
    expect((await readdir(output)).sort()).toEqual(['000000.png', '000001.png', '000002.png', '000003.png', '000004.png']);
  });
});

describe('processVideo: transparent output', () => {
  async function alphaAt(file: string, inputArgs: string[], width: number, height: number): Promise<{ left: number; right: number }> {
    const rgba = await decodeFrames(file, 4, inputArgs);
    const frame = Math.floor(rgba.length / (width * height * 4) / 2);
    const at = (x: number, y: number): number => rgba[(frame * width * height + y * width + x) * 4 + 3];
    return { left: at(Math.floor(width / 4), Math.floor(height / 2)), right: at(Math.floor((3 * width) / 4), Math.floor(height / 2)) };
  }

  it('VP9 WebM: transparent where the processor made it so (audio re-encoded to Opus)', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'cutout.webm');
    const summary = await processVideo({ input, output, processors: [cutLeftHalf], transparent: true });
    expect(summary.sink).toMatchObject({ codec: 'vp9', audio: ['opus'] });
    const s = await probeStreams(output);
    expect(video(s)).toMatchObject({ codec: 'vp9', frames: 75 });
    expect(video(s).tags.alpha_mode ?? video(s).tags.ALPHA_MODE).toBe('1');
    expect(audio(s)[0].codec).toBe('opus');
    expect(Math.abs(audio(s)[0].duration! - 3)).toBeLessThanOrEqual(0.1);
    expect(await decodeErrors(output, ['-c:v', 'libvpx-vp9'])).toBe('');
    expect(await alphaAt(output, ['-c:v', 'libvpx-vp9'], 400, 300)).toEqual({ left: 0, right: 255 });
  });

  it('ProRes 4444 MOV: transparent where the processor made it so (AAC copied)', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'cutout.mov');
    const summary = await processVideo({ input, output, processors: [cutLeftHalf], transparent: true });
    expect(summary.sink).toMatchObject({ codec: 'prores', audio: ['copy'] });
    const s = await probeStreams(output);
    expect(video(s)).toMatchObject({ codec: 'prores', frames: 75 });
    expect(video(s).pixFmt).toMatch(/^yuva444p/);
    await expectFaithful(input, output, '25/1');
    expect(await alphaAt(output, [], 400, 300)).toEqual({ left: 0, right: 255 });
  });
});
