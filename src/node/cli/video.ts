/**
 * One video file through the background effect, with a progress bar: probed once (by preflight,
 * before the model loaded), its flags mapped to video options by the shared options module
 * (options/videoOptions.ts), then decoded, processed and encoded with the sound kept by the facade.
 */
import { extname } from 'node:path';
import type { Backdrop } from '../facade.js';
import type { CliOptions } from '../options/cliOptions.js';
import { videoExtensionFor, videoOptionsFrom } from '../options/videoOptions.js';
import { probeVideo } from '../video/probe.js';
import type { VideoSummary } from '../video/renderer.js';
import { videoTools } from '../video/tools.js';
import type { CliIO } from './io.js';
import type { Target } from './outputs.js';
import type { CheckedPlan } from './preflight.js';
import { progressBar } from './progress.js';

/** The output extension for a video input: the named output file's, else the flags'. */
export function videoExtension(cli: CliOptions, target: Target): string {
  if (target && 'file' in target) return extname(target.file);
  return videoExtensionFor(cli);
}

export async function processVideoFile(plan: CheckedPlan, backdrop: Backdrop, cli: CliOptions, io: CliIO): Promise<VideoSummary> {
  // The job's one probe (preflight's, else here): the range is parsed against the rate it reads,
  // and the job takes it (info).
  const info = plan.info ?? (await probeVideo(plan.input, { tools: videoTools() }));
  const options = videoOptionsFrom(plan.input, cli, info);

  const bar = io.interactive && !cli.quiet && !cli.json ? progressBar(io, ' {bar} {value}/{total} frames | {fps} fps | ETA {eta_formatted} | {file}') : undefined;
  let started = false;
  try {
    return await backdrop.processVideo(plan.input, plan.output, {
      ...options,
      force: cli.force,
      signal: io.signal,
      onProgress: (done, total, rate) => {
        if (!bar) return;
        if (!started) bar.start(total ?? 0, 0, { fps: '0', file: plan.input.slice(-40) });
        started = true;
        bar.update(done, { fps: rate.toFixed(1) });
      },
    });
  } finally {
    if (started) bar?.stop();
  }
}
