/**
 * Acceptance: `backdrop IMG --mask --refine none --roi off -o out.png` reproduces the official MediaPipe
 * solution's masks (goldens/, full size) for both models: MAD ≤ 0.002 on every image, IoU@0.5
 * ≥ 0.98 where the person covers ≥ 1 %, ≥ 0.995 on average.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { compareMasks, goldenRows, readGolden, type GoldenRow } from '../helpers/goldens.js';
import { testdata } from '../helpers/testdata.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Splits rows into groups whose inputs have distinct file names, so one output folder holds each group. */
function distinctNameGroups(rows: GoldenRow[]): GoldenRow[][] {
  const groups: { names: Set<string>; rows: GoldenRow[] }[] = [];
  for (const row of rows) {
    const name = basename(row.input, extname(row.input));
    let group = groups.find((g) => !g.names.has(name));
    if (!group) groups.push((group = { names: new Set(), rows: [] }));
    group.names.add(name);
    group.rows.push(row);
  }
  return groups.map((g) => g.rows);
}

describe.each(['general', 'landscape'] as const)('backdrop --mask --refine none --roi off --model %s', (model) => {
  const rows = goldenRows().filter((r) => !r.modelres && r.model === model);

  it('matches the official MediaPipe masks', async () => {
    expect(rows.length).toBeGreaterThanOrEqual(120);
    const results: { input: string; mad: number; iou: number; coverage: number }[] = [];
    for (const group of distinctNameGroups(rows)) {
      const out = await mkdtemp(join(tmpdir(), 'backdrop-fidelity-'));
      dirs.push(out);
      const run = await cli(...group.map((r) => testdata(r.input)), '--mask', '--refine', 'none', '--roi', 'off', '--model', model, '-o', out, '--json');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.stdout) as { files: { input: string; output: string }[] };
      for (const row of group) {
        const file = summary.files.find((f) => f.input === testdata(row.input));
        expect(file, row.input).toBeDefined();
        expect((await sharp(file!.output).metadata()).channels, 'a one-channel grey PNG').toBe(1);
        const { data } = await sharp(file!.output).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
        const golden = await readGolden(row.golden);
        results.push({ input: row.input, ...compareMasks(Float32Array.from(data, (v) => v / 255), golden.data) });
      }
    }
    const bad = results.filter((r) => r.mad > 0.002 || (r.coverage >= 0.01 && r.iou < 0.98));
    expect(bad).toEqual([]);
    const meanIou = results.reduce((s, r) => s + r.iou, 0) / results.length;
    expect(meanIou).toBeGreaterThanOrEqual(0.995);
  });
});
