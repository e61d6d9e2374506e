/**
 * A video job finds ffmpeg once per process and probes its input once: whichever renderer draws it
 * (Node or ffmpeg compositing) and whether it comes from the library or the command line (which
 * probes to read --from/--to at the video's rate and hands that probe to the job). Counted on the
 * real lookups and probes, passed through to the real functions.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { findFfmpeg, findFfprobe } from '../../src/node/video/ffmpegPath.js';
import { probeVideo } from '../../src/node/video/probe.js';
import { processVideo } from '../../src/node/video/nodeRenderer.js';
import { createBackdrop } from '../../src/node/facade.js';
import { cli } from '../helpers/cli.js';
import { clipWithAudio, invert, makeTempDir, probeStreams } from '../helpers/videos.js';

vi.mock('../../src/node/video/ffmpegPath.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/node/video/ffmpegPath.js')>();
  return { ...mod, findFfmpeg: vi.fn(mod.findFfmpeg), findFfprobe: vi.fn(mod.findFfprobe) };
});
vi.mock('../../src/node/video/probe.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/node/video/probe.js')>();
  return { ...mod, probeVideo: vi.fn(mod.probeVideo) };
});

let dir: string;
let cleanup: () => Promise<void>;
let input: string;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
  input = await clipWithAudio(dir, 2);
});
afterAll(() => cleanup());

it('finds ffmpeg and ffprobe once per process and probes each job’s input once', async () => {
  // The test helpers looked for ffmpeg themselves when they loaded: count from here.
  vi.mocked(findFfmpeg).mockClear();
  vi.mocked(findFfprobe).mockClear();
  const probes = vi.mocked(probeVideo);
  probes.mockClear();

  // Node compositing, from the library.
  const node = await processVideo({ input, output: join(dir, 'node.mp4'), processors: [invert] });
  expect(node.frames).toBe(50);
  expect(probes.mock.calls.map((c) => c[0])).toEqual([input]);

  // ffmpeg compositing, chosen by the facade.
  const backdrop = await createBackdrop({ model: 'landscape' });
  try {
    const composited = await backdrop.processVideo(input, join(dir, 'composited.mp4'));
    expect(composited.frames).toBe(50);
  } finally {
    await backdrop.close();
  }
  expect(probes.mock.calls.map((c) => c[0])).toEqual([input, input]);

  // The command line, with an effect range (Node compositing).
  const out = join(dir, 'cli.mp4');
  const run = await cli(input, '--model', 'landscape', '--from', '10', '--to', '1.5s', '-o', out);
  expect(run.code, run.stderr).toBe(0);
  expect((await probeStreams(out)).find((s) => s.type === 'video')?.frames).toBe(50);
  expect(probes.mock.calls.map((c) => c[0])).toEqual([input, input, input]);

  // Three jobs, one lookup of each tool.
  expect(findFfmpeg).toHaveBeenCalledTimes(1);
  expect(findFfprobe).toHaveBeenCalledTimes(1);
});
