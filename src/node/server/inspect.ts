/**
 * Looks into an upload before it is accepted, so a bad file is refused with the right status at
 * once instead of becoming a failed job: an image over --max-pixels (413) or one that cannot be
 * read (422), a video ffprobe cannot make sense of (422). Messages are the CLI's.
 */
import { ImageInputError, readImageHeader } from '../imageIO.js';
import { probeVideo, VideoInputError, type VideoInfo } from '../video/probe.js';
import { videoTools } from '../video/tools.js';
import { HttpProblem } from './problem.js';

export interface ImageFacts {
  hasAlpha: boolean;
}

/** The header alone, as the CLI checks its inputs before the model loads (cli/preflight.ts). */
export async function inspectImage(path: string, name: string, maxPixels: number): Promise<ImageFacts> {
  try {
    const meta = await readImageHeader(path, { maxPixels, name });
    return { hasAlpha: meta.hasAlpha === true };
  } catch (err) {
    if (err instanceof ImageInputError) throw new HttpProblem(err.code === 'too-large' ? 413 : 422, err.message);
    throw err;
  }
}

export async function inspectVideo(path: string, name: string): Promise<VideoInfo> {
  try {
    return await probeVideo(path, { tools: videoTools() });
  } catch (err) {
    if (err instanceof VideoInputError) throw new HttpProblem(422, err.message.split(path).join(name));
    throw err;
  }
}
