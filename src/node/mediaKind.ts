/**
 * Which files are photos and which are videos, by extension: the CLI routes inputs with it, the
 * options module tells a background video from a background image. (Moved from cli/outputs.ts,
 * which re-exports it.)
 */
import { extname } from 'node:path';

/** Video files a folder is searched for (an explicitly named file of any other kind is tried as video too). */
const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.y4m', '.mpg', '.mpeg', '.ts', '.mts', '.flv', '.wmv', '.ogv', '.3gp']);
/** Still images sharp reads: these go to the photo path, everything else to ffmpeg. */
const STILL_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif', '.heic', '.heif', '.svg']);

export function isVideoPath(path: string): boolean {
  return VIDEO_EXTENSIONS.has(extname(path).toLowerCase());
}

/** How an input is processed: as a photo (sharp) or as a video (ffmpeg). */
export function isPhotoInput(path: string): boolean {
  return STILL_EXTENSIONS.has(extname(path).toLowerCase());
}
