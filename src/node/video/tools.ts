/**
 * ffmpeg and ffprobe for a video job, found once per process: a job resolves them here at its
 * entry and passes them down (FfmpegOptions.tools), so probing, decoding and encoding never look
 * again. Keyed by the options and the environment they are looked up in, so a changed
 * FFMPEG_PATH or PATH is honoured; failures are not remembered.
 */
import { findFfmpeg, findFfprobe, type FfmpegOptions, type VideoTools } from './ffmpegPath.js';

const found = new Map<string, VideoTools>();

/** The tools for these options (`opts.tools` when given). Throws FfmpegNotFoundError when there is no ffmpeg. */
export function videoTools(opts: FfmpegOptions = {}): VideoTools {
  if (opts.tools) return opts.tools;
  const { FFMPEG_PATH, FFPROBE_PATH, PATH } = process.env;
  const key = JSON.stringify([opts.ffmpegPath, opts.ffprobePath, FFMPEG_PATH, FFPROBE_PATH, PATH]);
  let tools = found.get(key);
  if (!tools) {
    const ffmpeg = findFfmpeg(opts).path;
    // ffprobe only when something is probed: a job given the input's facts never needs it (and a
    // bad FFPROBE_PATH must then not fail it).
    let ffprobe: string | null | undefined;
    tools = {
      ffmpeg,
      get ffprobe() {
        if (ffprobe === undefined) ffprobe = findFfprobe(opts)?.path ?? null;
        return ffprobe;
      },
    };
    found.set(key, tools);
  }
  return tools;
}
