/// <reference lib="dom" />
/**
 * A dropped photo, processed in the page with the current settings: the same compositor as the
 * live view (WebGL2, else canvas 2D), the model's look at the whole photo (and, with ROI zoom, at
 * each person small in it, as core does for photos), and PNG + JPEG files to download.
 */
import { createCompositor, type CompositorOptions, type RoiMode } from '../src/browser/index.js';
import { zoomedMask } from '../src/core/roi.js';
import type { Rect } from '../src/core/frame.js';
import type { Segmenter } from '../src/core/segmenter.js';

export interface PhotoResult {
  png: Blob;
  jpeg: Blob;
  width: number;
  height: number;
  compositor: string;
}

/** Photos larger than this are refused (decoded RGBA plus the GPU's copies would not fit comfortably). */
export const MAX_PHOTO_PIXELS = 40_000_000;

function toBlob(canvas: HTMLCanvasElement, type: string, quality?: number): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(`could not encode ${type}`))), type, quality));
}

export async function processPhoto(file: Blob, name: string, options: CompositorOptions, segmenter: Segmenter, roi: RoiMode = 'auto'): Promise<PhotoResult> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new Error(`${name} is not an image this browser can decode`);
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PHOTO_PIXELS) {
    bitmap.close();
    throw new Error(`${name} is ${width}×${height}: photos up to ${MAX_PHOTO_PIXELS / 1e6} megapixels are processed here`);
  }
  // A photo has no previous frame to smooth with; a cut-out gets real transparency, not the preview checkerboard.
  const effect = options.effect.type === 'transparent' ? { type: 'transparent' as const, checkerboard: false } : options.effect;
  const { compositor } = createCompositor({ options: { ...options, effect, smoothing: 0 } });
  let pixels: Uint8Array;
  try {
    compositor.setFrame(bitmap);
    if (effect.type !== 'none') {
      const { inputWidth: w, inputHeight: h } = segmenter.spec;
      const look = (crop?: Rect) => segmenter.segment(compositor.readModelInput(w, h, crop));
      compositor.setMask(roi === 'auto' ? await zoomedMask(look, width, height, segmenter.spec) : await look());
    }
    compositor.render();
    pixels = compositor.readPixels().slice();
  } finally {
    compositor.dispose();
    bitmap.close();
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2D is not available to encode the result');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(pixels.buffer as ArrayBuffer), width, height), 0, 0);
  const png = await toBlob(canvas, 'image/png');
  // JPEG has no alpha: a cut-out goes on white.
  const flat = document.createElement('canvas');
  flat.width = width;
  flat.height = height;
  const fctx = flat.getContext('2d')!;
  fctx.fillStyle = '#fff';
  fctx.fillRect(0, 0, width, height);
  fctx.drawImage(canvas, 0, 0);
  const jpeg = await toBlob(flat, 'image/jpeg', 0.92);
  return { png, jpeg, width, height, compositor: compositor.kind };
}
