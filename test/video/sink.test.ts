import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/frame.js';
import { OutputError } from '../../src/node/safeWrite.js';
import { openVideoSink } from '../../src/node/video/sink.js';
import { VideoSinkError, buildSinkArgs, planVideoSink, type VideoSinkOptions } from '../../src/node/video/sinkPlan.js';
import { decodeErrors, decodeFrames, makeTempDir, probeStreams } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

const base: VideoSinkOptions = { output: 'out.mp4', width: 160, height: 120, fps: { num: 25, den: 1 }, channels: 3 };

/** A frame whose colour changes with the index, alpha 0 on the left half when RGBA. */
function synthetic(i: number, width = 160, height = 120, channels: 3 | 4 = 3): Frame {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      data[o] = (i * 5) & 255;
      data[o + 1] = Math.round((x / width) * 255);
      data[o + 2] = Math.round((y / height) * 255);
      if (channels === 4) data[o + 3] = x < width / 2 ? 0 : 255;
    }
  }
  return { width, height, channels, data, timestamp: i * 40 };
}

async function leftovers(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((n) => n.endsWith('.tmp'));
}

describe('planVideoSink (arguments only)', () => {
  it('defaults to H.264 MP4: libx264 veryfast crf 20, yuv420p, BT.709, faststart', () => {
    const plan = planVideoSink(base);
    expect(plan).toMatchObject({ kind: 'file', codec: 'h264', container: 'mp4', width: 160, height: 120, padded: false });
    const args = buildSinkArgs(base, plan, '/tmp/.out.mp4.tmp');
    expect(args.join(' ')).toContain('-f rawvideo -pix_fmt rgb24 -s 160x120 -r 25 -i pipe:0');
    expect(args.join(' ')).toContain('-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p');
    expect(args.join(' ')).toContain('-colorspace bt709');
    expect(args.join(' ')).toContain('-movflags +faststart -f mp4 /tmp/.out.mp4.tmp');
    expect(args).not.toContain('-shortest');
  });

  it('keeps the exact rational rate', () => {
    const args = buildSinkArgs(base, planVideoSink(base), 'x');
    expect(buildSinkArgs({ ...base, fps: { num: 30000, den: 1001 } }, planVideoSink(base), 'x').join(' ')).toContain('-r 30000/1001 -i pipe:0');
    expect(args.join(' ')).toContain('-r 25 -i pipe:0');
  });

  it('pads odd sizes to even for H.264 by repeating the edge, keeping every pixel', () => {
    const plan = planVideoSink({ ...base, width: 401, height: 301 });
    expect(plan).toMatchObject({ width: 402, height: 302, padded: true });
    expect(plan.videoArgs.join(' ')).toContain('pad=402:302:0:0,fillborders=right=1:bottom=1:mode=smear');
    // VP9 takes odd sizes as they are.
    expect(planVideoSink({ ...base, output: 'a.webm', width: 401, height: 301 })).toMatchObject({ width: 401, height: 301, padded: false });
  });

  it('transparent: VP9 WebM with alpha, ProRes 4444 MOV, PNG frames in a folder', () => {
    const t = { ...base, channels: 4 as const, transparent: true };
    const webm = planVideoSink({ ...t, output: 'a.webm' });
    expect(webm.codec).toBe('vp9');
    expect(webm.videoArgs.join(' ')).toMatch(/-c:v libvpx-vp9 -pix_fmt yuva420p/);
    const mov = planVideoSink({ ...t, output: 'a.mov' });
    expect(mov.codec).toBe('prores');
    expect(mov.videoArgs.join(' ')).toMatch(/-c:v prores_ks -profile:v 4444 .*-pix_fmt yuva444p10le/);
    const png = planVideoSink({ ...t, output: 'frames' });
    expect(png).toMatchObject({ kind: 'folder', codec: 'png-sequence' });
    expect(buildSinkArgs({ ...t, output: 'frames' }, png, '/x/frames').join(' ')).toContain('-c:v png -pix_fmt rgba -start_number 0 -f image2 /x/frames/%06d.png');
  });

  it('refuses transparency where it cannot be kept, naming the alternatives', () => {
    expect(() => planVideoSink({ ...base, channels: 4, transparent: true })).toThrow(/H\.264 cannot carry transparency .*\.webm.*\.mov.*folder/);
    expect(() => planVideoSink({ ...base, transparent: true })).toThrow(/invalid transparent true: expected RGBA frames/);
  });

  it('names bad options and the allowed values', () => {
    expect(() => planVideoSink({ ...base, output: 'a.avi' })).toThrow(/unknown video type "\.avi"; use \.mp4, \.mov, \.mkv or \.webm/);
    expect(() => planVideoSink({ ...base, preset: 'warp' })).toThrow(/invalid preset "warp": expected ultrafast, .*veryslow/);
    expect(() => planVideoSink({ ...base, codec: 'prores' })).toThrow(/cannot write prores into \.mp4: use \.mov, \.mkv/);
    expect(() => planVideoSink({ ...base, codec: 'divx' as never })).toThrow(/invalid codec "divx": expected h264, h265, vp9, prores, png-sequence/);
    expect(() => planVideoSink({ ...base, fps: { num: 0, den: 1 } })).toThrow(/invalid fps/);
  });

  it('copies audio the container takes and re-encodes the rest', () => {
    const aac = { index: 1, codec: 'aac', channels: 2, sampleRate: 48000 };
    const opus = { index: 2, codec: 'opus', channels: 2, sampleRate: 48000 };
    const pcm = { index: 3, codec: 'pcm_s16le', channels: 2, sampleRate: 48000 };
    expect(planVideoSink(base, [aac, opus, pcm]).audio).toEqual(['copy', 'aac', 'aac']);
    expect(planVideoSink({ ...base, output: 'a.mov' }, [aac, pcm]).audio).toEqual(['copy', 'copy']);
    expect(planVideoSink({ ...base, output: 'a.webm' }, [aac, opus]).audio).toEqual(['opus', 'copy']);
    expect(planVideoSink({ ...base, output: 'a.mkv' }, [aac, opus, pcm]).audio).toEqual(['copy', 'copy', 'copy']);
    const plan = planVideoSink({ ...base, output: 'a.webm' }, [aac, opus]);
    const args = buildSinkArgs({ ...base, output: 'a.webm' }, plan, 'x', { path: '/videos/in.mp4', from: 1, to: 3 }).join(' ');
    expect(args).toContain('-ss 1 -t 2 -i /videos/in.mp4 -map 0:v -map 1:a -map_metadata 1 -c:a:0 libopus -b:a:0 128k -c:a:1 copy');
  });

  it('streams to an RTMP URL as FLV with low-latency H.264', () => {
    const opts = { ...base, output: 'rtmp://127.0.0.1/live/key' };
    const plan = planVideoSink(opts);
    expect(plan).toMatchObject({ kind: 'url', container: 'flv' });
    const args = buildSinkArgs(opts, plan, opts.output).join(' ');
    expect(args).toMatch(/-c:v libx264 -preset veryfast -tune zerolatency .* -g 50 .*-f flv rtmp:\/\/127\.0\.0\.1\/live\/key$/);
    expect(planVideoSink({ ...base, output: 'srt://127.0.0.1:9000' }).container).toBe('mpegts');
  });

  it('feeds a v4l2loopback virtual camera raw yuv420p', () => {
    const opts = { ...base, output: '/dev/video9' };
    const plan = planVideoSink(opts);
    expect(plan).toMatchObject({ kind: 'device', codec: 'rawvideo' });
    const args = buildSinkArgs(opts, plan, opts.output).join(' ');
    expect(args).toMatch(/-c:v rawvideo -pix_fmt yuv420p -f v4l2 \/dev\/video9$/);
  });

  it('can delay video against audio', () => {
    const args = buildSinkArgs({ ...base, videoDelay: 0.5 }, planVideoSink(base), 'x');
    expect(args.join(' ')).toContain('-itsoffset 0.5 -f rawvideo');
  });

  it('with a graph: the pipe has its own shape, the output chain follows [picture], audio comes after the graph inputs', () => {
    const graph = { pipe: { pixelFormat: 'rgba' as const, width: 64, height: 36 }, inputs: [['-i', 'in.mp4']], filter: '[1:v][0:v]overlay[picture]', colorTags: ['-colorspace', 'smpte170m'] };
    const opts = { ...base, graph, videoDelay: 0.5 };
    const aac = { index: 1, codec: 'aac', channels: 2, sampleRate: 48000 };
    const args = buildSinkArgs(opts, planVideoSink(opts, [aac]), 'x', { path: 'in.mp4' }).join(' ');
    expect(args).toMatch(/-f rawvideo -pix_fmt rgba -s 64x36 -r 25 -i pipe:0 -i in.mp4 -i \S*in.mp4 -filter_complex/);
    expect(args).not.toContain('-itsoffset');
    expect(args).not.toContain('-vf');
    // No conversion to BT.709: the picture keeps the input's colours and is tagged as it was.
    expect(args).toMatch(/-filter_complex \[1:v\]\[0:v\]overlay\[picture\];\[picture\]format=yuv420p,setpts=PTS\+0\.5\/TB\[out\] -map \[out\] -map 2:a -map_metadata 2/);
    expect(args).toContain('-pix_fmt yuv420p -colorspace smpte170m -movflags');
    expect(args).not.toContain('bt709');
  });
});

describe('openVideoSink (real ffmpeg)', () => {
  it('writes every frame at the given rate into a clean MP4 and leaves no temporary file', async () => {
    const output = join(dir, 'synthetic.mp4');
    const sink = await openVideoSink({ ...base, output });
    expect(await leftovers(dir)).toHaveLength(1);
    for (let i = 0; i < 50; i++) await sink.write(synthetic(i));
    const result = await sink.finish();
    expect(result).toMatchObject({ frames: 50, codec: 'h264', width: 160, height: 120 });
    expect(await leftovers(dir)).toHaveLength(0);
    const [v] = await probeStreams(output);
    expect(v).toMatchObject({ codec: 'h264', width: 160, height: 120, pixFmt: 'yuv420p', rFrameRate: '25/1', frames: 50 });
    expect(v.duration).toBeCloseTo(2, 2);
    expect(await decodeErrors(output)).toBe('');
    // Colours survive: frame 10's red is 50, its green ramps left to right.
    const frames = await decodeFrames(output, 3);
    const f10 = frames.subarray(10 * 160 * 120 * 3);
    const px = (x: number, y: number, c: number): number => f10[(y * 160 + x) * 3 + c];
    expect(Math.abs(px(80, 60, 0) - 50)).toBeLessThan(8);
    expect(Math.abs(px(150, 60, 1) - 239)).toBeLessThan(8);
  });

  it('arrival timing: each frame shows until the next one arrives, at the exact rate', async () => {
    const args = (hasFpsMode: boolean) => buildSinkArgs({ ...base, timing: 'arrival' }, planVideoSink(base), 'x', undefined, { hasFpsMode }).join(' ');
    expect(args(true)).toContain('-use_wallclock_as_timestamps 1 -f rawvideo -pix_fmt rgb24 -s 160x120 -framerate 25 -i pipe:0');
    expect(args(true)).toContain('-fps_mode cfr -r 25 -f mp4');
    expect(args(false)).toContain('-vsync cfr -r 25 -f mp4');

    // 12 frames, one every 150 ms: slower than 25 fps, as a live effect can be.
    const output = join(dir, 'arrival.mp4');
    const sink = await openVideoSink({ ...base, output, timing: 'arrival' });
    const t0 = performance.now();
    for (let i = 0; i < 12; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 150));
      await sink.write(synthetic(4 * i)); // red 20 × i
    }
    const span = (performance.now() - t0) / 1000;
    const result = await sink.finish();
    const [v] = await probeStreams(output);
    expect(v).toMatchObject({ rFrameRate: '25/1', avgFrameRate: '25/1' });
    expect(result.frames).toBe(v.frames);
    // Real time kept: the frames span the session (the last one shows for one frame).
    expect(Math.abs(v.duration! - span)).toBeLessThan(0.5);
    // Every frame is there, once per run of repeats, in order: its red rises with its index.
    const decoded = await decodeFrames(output, 3);
    const runs: number[] = [];
    for (let n = 0; n < v.frames!; n++) {
      const red = decoded[n * 160 * 120 * 3 + 60 * 160 * 3 + 80 * 3];
      if (runs.length === 0 || Math.abs(runs[runs.length - 1] - red) > 6) runs.push(red);
    }
    expect(runs).toHaveLength(12);
    for (let i = 1; i < runs.length; i++) expect(runs[i] - runs[i - 1]).toBeGreaterThan(10);
    expect(v.frames!).toBeGreaterThan(24);
  });

  it('writes a PNG sequence with alpha into a folder', async () => {
    const output = join(dir, 'png-frames');
    const sink = await openVideoSink({ ...base, output, channels: 4, transparent: true });
    for (let i = 0; i < 4; i++) await sink.write(synthetic(i, 160, 120, 4));
    await sink.finish();
    expect((await readdir(output)).sort()).toEqual(['000000.png', '000001.png', '000002.png', '000003.png']);
    const rgba = await decodeFrames(join(output, '000002.png'), 4);
    expect(rgba[3]).toBe(0);
    expect(rgba[(160 - 1) * 4 + 3]).toBe(255);
    expect(rgba[0]).toBe(10);
  });

  it('abort() removes the temporary output and creates nothing', async () => {
    const output = join(dir, 'aborted.mp4');
    const sink = await openVideoSink({ ...base, output });
    for (let i = 0; i < 5; i++) await sink.write(synthetic(i));
    await sink.abort();
    await expect(stat(output)).rejects.toThrow();
    expect(await leftovers(dir)).toHaveLength(0);
    await expect(sink.write(synthetic(6))).rejects.toThrow(/closed/);
  });

  it('refuses an existing output unless force, and never an input', async () => {
    const existing = join(dir, 'existing.mp4');
    await writeFile(existing, 'precious');
    await expect(openVideoSink({ ...base, output: existing })).rejects.toThrow(/existing\.mp4 exists; use --force to overwrite/);
    expect(await readFile(existing, 'utf8')).toBe('precious');

    const input = join(dir, 'input.mp4');
    await writeFile(input, 'the input');
    const viaLink = join(dir, 'link-to-input.mp4');
    await symlink(input, viaLink);
    for (const output of [input, viaLink, join(dir, '.', 'sub', '..', 'input.mp4')]) {
      const err = await openVideoSink({ ...base, output, force: true, inputs: [input] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputError);
      expect((err as OutputError).code).toBe('same-as-input');
    }
    expect(await readFile(input, 'utf8')).toBe('the input');

    const sink = await openVideoSink({ ...base, output: existing, force: true });
    await sink.write(synthetic(0));
    await sink.finish();
    expect((await stat(existing)).size).toBeGreaterThan(100);
  });

  it('reports an unwritable or missing folder as a one-line OutputError', async () => {
    const missing = await openVideoSink({ ...base, output: join(dir, 'no', 'such', 'folder', 'x.mp4') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OutputError);
    expect((missing as Error).message).toMatch(/cannot write .*x\.mp4: the folder .*folder does not exist/);

    let target: string | null = null;
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'read-only');
      await mkdir(ro);
      await chmod(ro, 0o555);
      target = join(ro, 'x.mp4');
    } else if (process.platform === 'linux') {
      target = '/sys/backdrop-test-output.mp4'; // even root cannot create files in sysfs
    }
    if (!target) return;
    const err = await openVideoSink({ ...base, output: target }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/cannot write .*x?\.mp4: permission denied/);
  });

  it('an encoder failure rejects with ffmpeg\'s words and removes the temporary file', async () => {
    const output = join(dir, 'bad-encoder.mp4');
    const sink = await openVideoSink({ ...base, output, outputArgs: ['-c:v', 'no_such_encoder'] });
    const err = await (async () => {
      for (let i = 0; i < 30; i++) await sink.write(synthetic(i));
      await sink.finish();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VideoSinkError);
    expect((err as Error).message).toMatch(/encoding .*bad-encoder\.mp4 failed after \d+ frames: .*no_such_encoder/);
    await expect(stat(output)).rejects.toThrow();
    expect(await leftovers(dir)).toHaveLength(0);
  });

  it('rejects a frame of the wrong size', async () => {
    const sink = await openVideoSink({ ...base, output: join(dir, 'wrong-size.mp4') });
    await expect(sink.write(synthetic(0, 100, 100))).rejects.toThrow(/does not match the output 160×120×3/);
    await sink.abort();
  });
});
