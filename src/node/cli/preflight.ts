/**
 * The checks a batch can make before the model loads (which takes from half a second on
 * onnxruntime-node to several on WebAssembly): every input is an image or video that can be read,
 * and every output can be written — not an input, not an existing file without --force, in a
 * folder that exists or can be made. A file that fails is reported at once and left out; the rest
 * go on. A video's probe is kept on its plan: it is the job's one probe (processVideoFile).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readImageHeader } from '../imageIO.js';
import { checkOutputPath } from '../safeWrite.js';
import { probeVideo, type VideoInfo } from '../video/probe.js';
import { videoTools } from '../video/tools.js';
import { isPhotoInput, isVideoPath, type PlannedOutput } from './outputs.js';

/** A plan that passed; a video's carries what its probe found. */
export interface CheckedPlan extends PlannedOutput {
  info?: VideoInfo;
}

export interface PreflightOptions {
  force?: boolean;
  maxPixels: number;
}

/** The plans that passed; each one that did not is passed to `fail` with a one-line reason. */
export async function preflight(plans: PlannedOutput[], options: PreflightOptions, fail: (input: string, error: string) => void): Promise<CheckedPlan[]> {
  const passed: CheckedPlan[] = [];
  for (const plan of plans) {
    try {
      passed.push(await checkPlan(plan, options));
    } catch (e) {
      fail(plan.input, (e as Error).message);
    }
  }
  return passed;
}

async function checkPlan(plan: PlannedOutput, options: PreflightOptions): Promise<CheckedPlan> {
  const photo = isPhotoInput(plan.input);
  if (photo) await readImageHeader(plan.input, { maxPixels: options.maxPixels });
  const info = photo ? undefined : await probeVideo(plan.input, { tools: videoTools() });
  await checkOutputFolder(plan.output);
  // A video output without a video extension is a folder of PNG frames, which the video sink checks.
  if (photo || isVideoPath(plan.output)) await checkOutputPath(plan.output, { force: options.force, inputs: [plan.input] });
  return { ...plan, info };
}

/**
 * An output's folder exists and is writable, or can be made (-o makes the folders it needs): the
 * nearest folder above it that exists is a folder and writable.
 */
export async function checkOutputFolder(output: string): Promise<void> {
  let dir = dirname(output);
  for (;;) {
    const info = await stat(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : e));
    if (info instanceof Error) {
      if ((info as NodeJS.ErrnoException).code === 'ENOTDIR') {
        dir = dirname(dir);
        continue;
      }
      throw new Error(`cannot write ${output}: ${info.message}`);
    }
    if (info && !info.isDirectory()) throw new Error(`cannot write ${output}: ${dir} is a file, not a folder`);
    if (info) break;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new Error(`cannot write ${output}: no permission to write in ${dir}`);
  }
}
