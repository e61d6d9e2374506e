import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameProcessor } from '../../src/core/processor.js';
import { OutputError } from '../../src/node/safeWrite.js';
import { VideoInputError } from '../../src/node/video/probe.js';
import { VideoSourceError } from '../../src/node/video/source.js';
import { processVideo } from '../../src/node/video/nodeRenderer.js';
import { audioOnlyClip, clipWithAudio, ffmpeg, invert, makeTempDir, noise } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

async function tempLeftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
}

describe('processVideo: bad input and output', () => {
  async function rejection(p: Promise<unknown>): Promise<Error> {
    const r = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(r).toBeInstanceOf(Error);
    return r as Error;
  }

  it('no video stream', async () => {
    const input = await audioOnlyClip(dir);
    const err = await rejection(processVideo({ input, output: join(dir, 'x1.mp4') }));
    expect(err).toBeInstanceOf(VideoInputError);
    expect(err.message).toBe(`${input} has no video stream`);
  });

  it('zero-length file, garbage, unsupported codec', async () => {
    const empty = join(dir, 'zero.mp4');
    await writeFile(empty, '');
    expect((await rejection(processVideo({ input: empty, output: join(dir, 'x2.mp4') }))).message).toMatch(/zero\.mp4 is empty \(0 bytes\)/);
    const garbage = join(dir, 'garbage.mp4');
    await writeFile(garbage, noise(64_000, 99));
    expect((await rejection(processVideo({ input: garbage, output: join(dir, 'x3.mp4') }))).message).toMatch(/garbage\.mp4 is not a video ffmpeg can read/);
    const mkv = join(dir, 'alien.mkv');
    await ffmpeg(['-i', await clipWithAudio(dir, 3), '-t', '1', '-c', 'copy', join(dir, 'plain.mkv')]);
    const bytes = await readFile(join(dir, 'plain.mkv'));
    bytes.write('V_XXXXXXXXXXXXX', bytes.indexOf('V_MPEG4/ISO/AVC'), 'latin1');
    await writeFile(mkv, bytes);
    const err = await rejection(processVideo({ input: mkv, output: join(dir, 'x4.mp4') }));
    expect(err).toBeInstanceOf(VideoInputError);
    expect(err.message).toMatch(/alien\.mkv: unsupported video codec/);
    for (const n of ['x1.mp4', 'x2.mp4', 'x3.mp4', 'x4.mp4']) await expect(stat(join(dir, n))).rejects.toThrow();
  });

  it('a file corrupt midway: the partial output is discarded and the error names the frame', async () => {
    const bytes = await readFile(await clipWithAudio(dir, 3));
    noise(15_000, 5).copy(bytes, Math.floor(bytes.length * 0.6));
    const input = join(dir, 'corrupt-midway.mp4');
    await writeFile(input, bytes);
    const output = join(dir, 'from-corrupt.mp4');
    let lastDone = 0;
    const err = await rejection(processVideo({ input, output, processors: [invert], onProgress: (d) => (lastDone = d) }));
    expect(err).toBeInstanceOf(VideoSourceError);
    const frame = (err as VideoSourceError).frame;
    expect(frame).toBeGreaterThan(5);
    expect(frame).toBeLessThan(75);
    expect(lastDone).toBeLessThanOrEqual(frame);
    expect(err.message).toMatch(new RegExp(`corrupt-midway\\.mp4: decoding failed at frame ${frame} `));
    await expect(stat(output)).rejects.toThrow();
    expect(await tempLeftovers()).toEqual([]);
  });

  it('output equal to the input is refused, and the input is untouched', async () => {
    const input = await clipWithAudio(dir, 3);
    const before = await readFile(input);
    for (const output of [input, join(dir, '.', 'with-audio.mp4')]) {
      const err = await rejection(processVideo({ input, output, force: true }));
      expect(err).toBeInstanceOf(OutputError);
      expect((err as OutputError).code).toBe('same-as-input');
    }
    expect((await readFile(input)).equals(before)).toBe(true);
  });

  it('an existing output is refused without force, replaced with it', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'already-there.mp4');
    await writeFile(output, 'keep me');
    const err = await rejection(processVideo({ input, output }));
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/already-there\.mp4 exists; use --force to overwrite/);
    expect(await readFile(output, 'utf8')).toBe('keep me');
    await processVideo({ input, output, force: true, to: 0.5 });
    expect((await stat(output)).size).toBeGreaterThan(1000);
  });

  it('an unwritable folder is reported before any decoding', async () => {
    const input = await clipWithAudio(dir, 3);
    let output: string;
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      await mkdir(ro);
      await chmod(ro, 0o555);
      output = join(ro, 'out.mp4');
    } else if (process.platform === 'linux') {
      output = '/sys/backdrop-test-output.mp4';
    } else return;
    const err = await rejection(processVideo({ input, output }));
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/cannot write .*out(put)?\.mp4: permission denied/);
  });

  it('an AbortSignal stops both ffmpeg processes and leaves nothing behind', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'aborted.mp4');
    const ac = new AbortController();
    const err = await rejection(
      processVideo({
        input,
        output,
        signal: ac.signal,
        onProgress: (done) => {
          if (done === 10) ac.abort();
        },
      }),
    );
    expect(err.name).toBe('AbortError');
    await expect(stat(output)).rejects.toThrow();
    expect(await tempLeftovers()).toEqual([]);
  });

  it('a processor error stops everything and leaves nothing behind', async () => {
    const input = await clipWithAudio(dir, 3);
    const output = join(dir, 'processor-failed.mp4');
    let n = 0;
    const closed: string[] = [];
    const failing: FrameProcessor = {
      init: () => void closed.push('init'),
      process: (f) => {
        if (++n === 20) throw new Error('model exploded');
        return f;
      },
      close: () => void closed.push('close'),
    };
    const err = await rejection(processVideo({ input, output, processors: [failing] }));
    expect(err.message).toBe('model exploded');
    expect(closed).toEqual(['init', 'close']);
    await expect(stat(output)).rejects.toThrow();
    expect(await tempLeftovers()).toEqual([]);
  });
});
