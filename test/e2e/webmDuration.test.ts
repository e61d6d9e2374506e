/**
 * The WebM duration fix-up the web app applies to MediaRecorder files, on WebM files ffmpeg writes
 * as a live stream (no Duration, unknown sizes, a SeekHead before Info): ffprobe reads the right
 * duration afterwards, every frame still decodes, and the SeekHead still points at its elements.
 * Runs in Node (no browser needed); the recordings made in Chromium are checked in app.test.ts.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixWebmDuration, readWebmInfo } from '../../web/webmDuration.js';
import { ffmpegPath } from '../browser/chromium.js';
import { ffprobePath, probe, tempDir, warnNoFfprobe } from './app.js';

const run = promisify(execFile);

/** [SeekID, SeekPosition] pairs of the file's SeekHead and the Segment's data offset (a minimal EBML walk). */
function seekEntries(b: Uint8Array): { dataStart: number; entries: [number, number][] } {
  const vint = (at: number, keepMarker: boolean) => {
    let n = 1;
    while (n <= 8 && !(b[at] & (0x100 >> n))) n++;
    let v = keepMarker ? b[at] : b[at] & (0xff >> n);
    for (let i = 1; i < n; i++) v = v * 256 + b[at + i];
    return { v, n };
  };
  const header = (at: number) => {
    const id = vint(at, true);
    const size = vint(at + id.n, false);
    return { id: id.v, dataStart: at + id.n + size.n, size: size.v };
  };
  const ebml = header(0);
  const segment = header(ebml.dataStart + ebml.size);
  const seekHead = header(segment.dataStart);
  expect(seekHead.id).toBe(0x114d9b74);
  const entries: [number, number][] = [];
  for (let at = seekHead.dataStart; at < seekHead.dataStart + seekHead.size; ) {
    const seek = header(at);
    let id = 0, pos = 0;
    for (let c = seek.dataStart; c < seek.dataStart + seek.size; ) {
      const e = header(c);
      let v = 0;
      for (let i = 0; i < e.size; i++) v = v * 256 + b[e.dataStart + i];
      if (e.id === 0x53ab) id = v;
      if (e.id === 0x53ac) pos = v;
      c = e.dataStart + e.size;
    }
    entries.push([id, pos]);
    at = seek.dataStart + seek.size;
  }
  return { dataStart: segment.dataStart, entries };
}

function idAt(b: Uint8Array, at: number): number {
  let n = 1;
  while (n <= 4 && !(b[at] & (0x100 >> n))) n++;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[at + i];
  return v;
}

warnNoFfprobe('test/e2e/webmDuration.test.ts');

describe.skipIf(!ffprobePath)('fixWebmDuration', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let live: string;

  beforeAll(async () => {
    tmp = await tempDir('backdrop-webm-');
    live = join(tmp.dir, 'live.webm');
    await run(await ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-f', 'webm', '-live', '1', live]);
  });

  afterAll(async () => {
    await tmp?.remove();
  });

  it('a live WebM has no duration; afterwards it has the span of its frames', async () => {
    const before = await probe(live);
    expect(Number.isNaN(before.duration)).toBe(true);
    const bytes = new Uint8Array(await readFile(live));
    expect(readWebmInfo(bytes).durationMs).toBeUndefined();
    const fixed = fixWebmDuration(bytes);
    // 50 frames at 25 fps: the last starts at 1.96 s and lasts 40 ms.
    expect(fixed.durationMs).toBeCloseTo(2000, 0);
    const out = join(tmp.dir, 'fixed.webm');
    await writeFile(out, fixed.bytes);
    const after = await probe(out);
    expect(after.duration).toBeCloseTo(2, 2);
    expect(after.frames).toBe(50);
    expect(readWebmInfo(fixed.bytes)).toMatchObject({ durationMs: 2000, blocks: new Map([[1, 50]]) });
    const { stderr } = await run(await ffmpegPath(), ['-v', 'error', '-i', out, '-f', 'null', '-']);
    expect(stderr.trim()).toBe('');
  });

  it('keeps the SeekHead pointing at its elements when Info grows', async () => {
    const bytes = new Uint8Array(await readFile(live));
    const fixed = fixWebmDuration(bytes, 1234).bytes;
    expect(fixed.length).toBe(bytes.length + 11);
    for (const file of [bytes, fixed]) {
      const { dataStart, entries } = seekEntries(file);
      expect(entries.length).toBeGreaterThan(1);
      for (const [id, pos] of entries) expect(idAt(file, dataStart + pos)).toBe(id);
    }
    const out = join(tmp.dir, 'explicit.webm');
    await writeFile(out, fixed);
    expect((await probe(out)).duration).toBeCloseTo(1.234, 3);
  });

  it('replaces an existing Duration, and refuses what is not WebM', async () => {
    const bytes = new Uint8Array(await readFile(live));
    const first = fixWebmDuration(bytes, 1000).bytes;
    const second = fixWebmDuration(first, 1500).bytes;
    expect(second.length).toBe(first.length);
    expect(readWebmInfo(second).durationMs).toBe(1500);
    expect(() => fixWebmDuration(new Uint8Array([1, 2, 3, 4]))).toThrow(/not a WebM file/);
    expect(() => fixWebmDuration(new Uint8Array(0))).toThrow(/not a WebM file/);
    expect(() => fixWebmDuration(new Uint8Array([0, 0, 0, 0]))).toThrow(/not a WebM file/);
  });
});
