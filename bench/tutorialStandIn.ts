/**
 * Runs bench/tutorialStandIn.py, the stand-in for the Python tutorial's video pipeline (OpenCV +
 * the landscape model, which backdrop converts to ONNX for it): optional, it needs Debian's
 * python3-opencv, which `npm test` never does.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { builtinOnnx } from '../src/node/models.js';
import { measureCpu } from './cpu.js';

const SCRIPT = fileURLToPath(new URL('./tutorialStandIn.py', import.meta.url));
export const INSTALL_HINT = 'apt-get install -y python3-opencv';

export interface StandInResult {
  frames: number;
  /** From opening the input to closing the output, the model already loaded (as backdrop's fps). */
  fps: number;
  /** OpenCV's thread count (its default, not tuned). */
  threads: number;
  /** OpenCV's version. */
  opencv: string;
  /** Wall ms per frame by step; `model` is the model call alone. */
  ms: Record<string, number>;
  /** CPU (user + system) of the whole Python process, interpreter start and model load included, ms. */
  cpuMs: number;
}

/**
 * The first Python 3 that imports cv2: `python3` on the PATH, else Debian's own (a pyenv or venv
 * python3 first on the PATH does not see apt's python3-opencv).
 */
export function findOpenCvPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import cv2, numpy'], { stdio: 'ignore' });
      return python;
    } catch {
      // not there, or no cv2: try the next
    }
  }
  return undefined;
}

/** Writes the landscape model as ONNX into `dir` for the stand-in; returns its path. */
export async function writeLandscapeOnnx(dir: string): Promise<string> {
  const path = join(dir, 'landscape.onnx');
  await writeFile(path, await builtinOnnx('landscape'));
  return path;
}

export async function runTutorialStandIn(python: string, model: string, input: string, output: string): Promise<StandInResult> {
  const { result, cpu } = await measureCpu(() => promisify(execFile)(python, [SCRIPT, model, input, output]), () => 'python');
  const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as Omit<StandInResult, 'cpuMs'>;
  return { ...report, cpuMs: cpu.children };
}
