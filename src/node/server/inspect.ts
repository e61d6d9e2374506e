/**
 * Looks into an upload before it is accepted, so a bad file is refused with the right status at
 * once instead of becoming a failed job: an image over --max-pixels (413) or one that cannot be
 * read (422), a video ffprobe cannot make sense of (422). Messages are the CLI's.
 */
import sharp from 'sharp';
import { decodeImage, ImageInputError } from '../imageIO.js';
import { probeVideo, VideoInputError, type VideoInfo } from '../video/probe.js';
import { HttpProblem } from './problem.js';

export interface ImageFacts {
  hasAlpha: boolean;
}

export async function inspectImage(path: string, name: string, maxPixels: number): Promise<ImageFacts> {
  try {
    const meta = await sharp(path, { limitInputPixels: false })
      .metadata()
      .catch(() => ({ width: 0, height: 0, autoOrient: undefined, hasAlpha: false }));
    const { width, height } = meta.autoOrient ?? meta;
    if (width && height && width * height > maxPixels) {
      // The CLI's words (imageIO's decodeImage), for a header that is all there is to read.
      const mp = (n: number) => String(Number((n / 1e6).toFixed(n >= 1e7 ? 0 : 1)));
      throw new ImageInputError(name, `is ${width}×${height} = ${mp(width * height)} megapixels, over the limit of ${mp(maxPixels)} megapixels; raise it with --max-pixels`, 'too-large');
    }
    if (width && height) return { hasAlpha: meta.hasAlpha === true };
  } catch (err) {
    if (err instanceof ImageInputError) throw new HttpProblem(413, err.message);
    throw err;
  }
  try {
    // Over the limit it stops after the header; otherwise it fails as the worker would.
    await decodeImage(path, { maxPixels, name });
  } catch (err) {
    if (err instanceof ImageInputError) throw new HttpProblem(err.code === 'too-large' ? 413 : 422, err.message);
    throw err;
  }
  return { hasAlpha: false };
}

export async function inspectVideo(path: string, name: string): Promise<VideoInfo> {
  try {
    return await probeVideo(path);
  } catch (err) {
    if (err instanceof VideoInputError) throw new HttpProblem(422, err.message.split(path).join(name));
    throw err;
  }
}
