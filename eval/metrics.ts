/** Mask quality measures used by `npm run eval`. */

/** Ground truth: 1 = person, 0 = background, NaN = ignore. */
export type Truth = Float32Array;

export interface Tally {
  inter: number;
  union: number;
  bandError: number;
  bandPixels: number;
  /** Predicted person pixels where the truth says none (for no-person images). */
  falsePositive: number;
  pixels: number;
}

export function emptyTally(): Tally {
  return { inter: 0, union: 0, bandError: 0, bandPixels: 0, falsePositive: 0, pixels: 0 };
}

export function iou(t: Tally): number {
  return t.union === 0 ? 1 : t.inter / t.union;
}

export function boundaryError(t: Tally): number {
  return t.bandPixels === 0 ? 0 : t.bandError / t.bandPixels;
}

/**
 * Pixels within `radius` px (chessboard distance) of the truth's person/background edge: the band
 * where edge quality shows. Ignored pixels are never in the band.
 */
export function edgeBand(truth: Truth, width: number, height: number, radius = 10): Uint8Array {
  const edge = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = truth[i];
      if (Number.isNaN(v)) continue;
      // A neighbour of the other class (NaN compares unequal but is not a class: skip it).
      const l = x > 0 ? truth[i - 1] : v;
      const r = x < width - 1 ? truth[i + 1] : v;
      const u = y > 0 ? truth[i - width] : v;
      const d = y < height - 1 ? truth[i + width] : v;
      if ((l !== v && l === l) || (r !== v && r === r) || (u !== v && u === u) || (d !== v && d === d)) edge[i] = 1;
    }
  }
  // Square dilation by a separable running maximum.
  const rows = dilate1d(edge, width, height, radius, 1, width);
  const band = dilate1d(rows, height, width, radius, width, 1);
  for (let i = 0; i < band.length; i++) if (Number.isNaN(truth[i])) band[i] = 0;
  return band;
}

function dilate1d(src: Uint8Array, length: number, lines: number, r: number, step: number, lineStep: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let count = 0;
    for (let k = 0; k < Math.min(r, length); k++) count += src[base + k * step];
    for (let k = 0; k < length; k++) {
      if (k + r < length) count += src[base + (k + r) * step];
      if (k - r - 1 >= 0) count -= src[base + (k - r - 1) * step];
      out[base + k * step] = count > 0 ? 1 : 0;
    }
  }
  return out;
}

/** Adds one mask's agreement with the truth to a tally. `prediction` is 0..1. */
export function accumulate(t: Tally, prediction: Float32Array, truth: Truth, band: Uint8Array): void {
  for (let i = 0; i < truth.length; i++) {
    const g = truth[i];
    if (Number.isNaN(g)) continue;
    const p = prediction[i];
    const a = p >= 0.5;
    const b = g >= 0.5;
    if (a && b) t.inter++;
    if (a || b) t.union++;
    if (a && !b) t.falsePositive++;
    t.pixels++;
    if (band[i]) {
      t.bandError += Math.abs(p - g);
      t.bandPixels++;
    }
  }
}
