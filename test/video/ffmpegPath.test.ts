import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FfmpegNotFoundError,
  ffmpegVersion,
  findFfmpeg,
  findFfprobe,
  parseFfmpegVersion,
  resolveFfmpegTools,
  whichSync,
} from '../../src/node/video/ffmpegPath.js';
import { processVideo } from '../../src/node/video/nodeRenderer.js';
import { clipWithAudio, makeTempDir, npmFfmpeg } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
const savedEnv = { FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH };

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());
afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('finding ffmpeg', () => {
  it('finds an ffmpeg that runs and reports its version', async () => {
    const found = findFfmpeg();
    expect(['env', 'path', 'npm']).toContain(found.source);
    const v = await ffmpegVersion(found.path);
    expect(v.version).not.toBe('unknown');
  });

  it('prefers FFMPEG_PATH, then PATH, then the npm package', () => {
    if (!npmFfmpeg) return;
    process.env.FFMPEG_PATH = npmFfmpeg;
    expect(findFfmpeg()).toEqual({ path: npmFfmpeg, source: 'env' });
    delete process.env.FFMPEG_PATH;
    process.env.PATH = join(dir, 'empty-bin');
    expect(findFfmpeg()).toEqual({ path: npmFfmpeg, source: 'npm' });
    // The npm build has no ffprobe beside it, and there is none on this PATH.
    expect(findFfprobe()).toBeNull();
  });

  it('an explicit ffmpeg without an ffprobe beside it means no ffprobe (not a mismatched one from PATH)', () => {
    if (!npmFfmpeg) return;
    expect(findFfprobe({ ffmpegPath: npmFfmpeg })).toBeNull();
    expect(findFfprobe({ ffprobePath: null })).toBeNull();
  });

  it('FFMPEG_PATH pointing to a missing file gives a message saying how to get ffmpeg', () => {
    process.env.FFMPEG_PATH = join(dir, 'no-such-ffmpeg');
    let err: unknown;
    try {
      findFfmpeg();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FfmpegNotFoundError);
    const msg = (err as Error).message;
    expect(msg).toContain('FFMPEG_PATH');
    expect(msg).toContain('no-such-ffmpeg');
    expect(msg).toContain('npm install');
    expect(msg).toMatch(/apt install ffmpeg/);
    expect(msg).toMatch(/brew install ffmpeg/);
  });

  it('a non-executable file is not accepted', async () => {
    const fake = join(dir, 'not-executable');
    await writeFile(fake, 'hello');
    await chmod(fake, 0o644);
    expect(() => findFfmpeg({ ffmpegPath: fake })).toThrow(FfmpegNotFoundError);
  });

  it('processVideo fails with the helpful message when ffmpeg is missing', async () => {
    const input = await clipWithAudio(dir, 1);
    process.env.FFMPEG_PATH = '/nonexistent/bin/ffmpeg';
    const err = await processVideo({ input, output: join(dir, 'out.mp4') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegNotFoundError);
    expect((err as Error).message).toMatch(/^FFMPEG_PATH points to \/nonexistent\/bin\/ffmpeg, which is not an executable file\. .*npm install/);
    delete process.env.FFMPEG_PATH;
    process.env.FFPROBE_PATH = '/nonexistent/bin/ffprobe';
    await expect(processVideo({ input, output: join(dir, 'out.mp4') })).rejects.toThrow(/FFPROBE_PATH points to/);
  });

  it('resolveFfmpegTools returns both tools and the version', async () => {
    const tools = await resolveFfmpegTools();
    expect(tools.ffmpeg).toBeTruthy();
    expect(tools.version.path).toBe(tools.ffmpeg);
  });

  it('whichSync finds executables on a given PATH only', () => {
    expect(whichSync('ffmpeg', '')).toBeNull();
    expect(whichSync('sh', '/bin:/usr/bin')).toMatch(/\/sh$/);
  });
});

describe('parseFfmpegVersion', () => {
  it('reads release and git builds, and which spelling of -fps_mode they take', () => {
    const deb = parseFfmpegVersion('x', 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c)\nlibavcodec     59. 37.100 / 59. 37.100\n');
    expect(deb).toMatchObject({ version: '5.1.9-0+deb12u1', release: { major: 5, minor: 1 }, hasFpsMode: true });
    const old = parseFfmpegVersion('x', 'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/\nlibavcodec     58. 42.100 / 58. 42.100\n');
    expect(old).toMatchObject({ version: 'N-47683-g0e8eb07980-static', release: null, hasFpsMode: false });
    const seven = parseFfmpegVersion('x', 'ffmpeg version n7.1 Copyright\n');
    expect(seven).toMatchObject({ release: { major: 7, minor: 1 }, hasFpsMode: true });
    expect(parseFfmpegVersion('x', 'ffmpeg version 4.4.2-0ubuntu0.22.04.1').hasFpsMode).toBe(false);
  });
});
