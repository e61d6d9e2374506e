/**
 * `backdrop doctor` as a user runs it: a real process, its screen and its JSON, on this machine
 * and with pieces taken away through the environment. (The package test runs it where npm
 * dropped onnxruntime-node, and runs the fix it prints.)
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Check } from '../../src/node/doctor.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function doctor(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['BACKDROP_RUNTIME', 'FFMPEG_PATH'].includes(k)));
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/node/cli.ts', 'doctor', ...args], { env: { ...base, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function checks(env: Record<string, string | undefined> = {}): Promise<{ code: number; byName: Record<string, Check> }> {
  const r = await doctor(['--json'], env);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  expect(report.ok).toBe(r.code === 0);
  return { code: r.code, byName: Object.fromEntries(report.checks.map((c) => [c.name, c])) };
}

const NEEDS_FIXING = ['slow', 'limited', 'missing'];

describe('backdrop doctor', () => {
  it('fits on one screen: runtime, models, ffmpeg and Chromium, a fix under each problem, exit 1 only when there is one', async () => {
    const r = await doctor([]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    for (const name of ['runtime', 'models', 'ffmpeg', 'chromium']) expect(r.stdout).toMatch(new RegExp(`^(ok|slow|limited|missing|optional) +${name} `, 'm'));
    const problems = [...r.stdout.matchAll(/^(slow|limited|missing) /gm)].length;
    expect(r.code).toBe(problems ? 1 : 0);
    expect([...r.stdout.matchAll(/^ +fix: /gm)].length).toBeGreaterThanOrEqual(problems);

    // On this machine (the repository's dev set-up): the native runtime runs the model, the models are there.
    const { byName } = await checks();
    expect(byName.runtime.status).toBe('ok');
    expect(byName.runtime.detail).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ \(native, CPU\): the general model runs in \d+\.\d ms$/);
    expect(byName.models.status).toBe('ok');
    expect(byName.models.detail).toMatch(/general .* MB, landscape .* MB from @mediapipe\/selfie_segmentation/);
    expect(byName.ffmpeg.detail).toMatch(/at \/.*ffmpeg .*encoders: h264 libx264/);
    for (const c of Object.values(byName)) if (NEEDS_FIXING.includes(c.status)) expect(c.fix, c.name).toBeTruthy();
  });

  it('BACKDROP_RUNTIME=wasm: WebAssembly, slower, and why; the fix is to unset it', async () => {
    const { code, byName } = await checks({ BACKDROP_RUNTIME: 'wasm' });
    expect(code).toBe(1);
    expect(byName.runtime.status).toBe('slow');
    expect(byName.runtime.detail).toMatch(/^onnxruntime-web wasm \(SIMD, \d threads?\), onnxruntime-web \d+\.\d+\.\d+: the general model runs in [\d.]+ ms, because BACKDROP_RUNTIME=wasm; about \d+× slower/);
    expect(byName.runtime.fix).toBe('unset BACKDROP_RUNTIME');
  });

  it('an unknown BACKDROP_RUNTIME, a missing FFMPEG_PATH: each named, each with its fix', async () => {
    const runtime = await checks({ BACKDROP_RUNTIME: 'gpu' });
    expect(runtime.code).toBe(1);
    expect(runtime.byName.runtime).toEqual({ name: 'runtime', status: 'missing', detail: 'BACKDROP_RUNTIME=gpu: use native (onnxruntime-node), wasm (onnxruntime-web) or auto', fix: 'unset BACKDROP_RUNTIME' });

    const ffmpeg = await checks({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
    expect(ffmpeg.code).toBe(1);
    expect(ffmpeg.byName.ffmpeg.status).toBe('missing');
    expect(ffmpeg.byName.ffmpeg.detail).toMatch(/FFMPEG_PATH points to \/nonexistent\/ffmpeg, which is not an executable file/);
    expect(ffmpeg.byName.ffmpeg.fix).toBe('unset FFMPEG_PATH');
  });
});
