/**
 * ROI zoom: a person who is small in the frame gets a second, closer look.
 *
 * The model sees the whole frame stretched to 256×256 (or 256×144), so someone standing a few
 * metres away is a few dozen model pixels tall and is cut out badly. A first pass over the whole
 * frame finds the people (blobs of the mask, grouped into one box per person or group, a few at
 * most); each gets a crop around it (a margin on every side, grown to the model's aspect ratio, kept
 * inside the frame) that the model looks at again, and the crop masks are pasted into a mask of the
 * whole frame. Outside the crops the mask is 0: every person found has a crop of their own.
 *
 * Where the crops would cover most of the frame anyway (a selfie), the zoom gains nothing and the
 * first pass is the answer, unchanged. Streams track the crops from frame to frame (RoiTracker), so
 * they cost one inference per person and frame plus a full-frame pass now and then.
 */
import { createMask, type Frame, type Mask, type Rect } from './frame.js';
import { axisTaps, type AxisTaps } from './postprocess.js';
import type { ModelSpec } from './modelSpec.js';
import type { Segmenter, SegmentTimings } from './segmenter.js';

/** What the crops are shaped for: the model's input size. */
export type ModelInput = Pick<ModelSpec, 'inputWidth' | 'inputHeight'>;

/** The size of a mask's grid, cells. */
export interface GridSize {
  width: number;
  height: number;
}

/** 'auto': zoom in on people who are small in the frame; 'off': the model sees the whole frame only. */
export type RoiMode = 'auto' | 'off';
export const ROI_MODES: readonly RoiMode[] = ['auto', 'off'];

export interface RoiTuning {
  /** Mask value above which a cell is a person. */
  threshold: number;
  /** Smallest blob, as a fraction of the mask's cells, that counts (smaller ones are noise). */
  minBlob: number;
  /** Each side of a crop lies this fraction of the box's size outside it. */
  margin: number;
  /** At most this many crops: the nearest boxes are merged until there are no more. */
  maxCrops: number;
  /** No zoom when the crops together would cover more than this fraction of the frame. */
  maxCoverage: number;
  /** A crop is never smaller than this fraction of the model's input size, in frame pixels (the model gains nothing from blown-up pixels). */
  minCropScale: number;
  /** Streams: a full-frame pass at least every this many frames, to find people who came in. */
  refreshEvery: number;
  /** Streams: a tracked crop moves only when the new one overlaps it by less than this (IoU), so the model's view does not jitter. */
  keepOverlap: number;
}

export const DEFAULT_ROI: RoiTuning = {
  threshold: 0.5,
  minBlob: 0.002,
  margin: 0.15,
  maxCrops: 3,
  maxCoverage: 0.65,
  minCropScale: 0.5,
  refreshEvery: 10,
  keepOverlap: 0.85,
};

/** A box in fractions of the picture it was found in: 0..1 across and down. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A blob's size in cells and its bounding cells (inclusive). */
interface Blob {
  cells: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Runs of cells above the threshold (row, first and last column) and their union-find parents, reused between calls. */
let runRow = new Int32Array(0), runX0 = new Int32Array(0), runX1 = new Int32Array(0), parent = new Int32Array(0), label = new Int32Array(0);

function root(i: number): number {
  while (parent[i] !== i) i = parent[i] = parent[parent[i]];
  return i;
}

/**
 * The 8-connected blobs of cells above `threshold`, in the order of their first cell (row by row).
 * Labels runs of cells rather than cells: each row's runs join those of the row above that they
 * touch (diagonals included), so a frame-filling person costs a few hundred unions, not a flood
 * fill of every cell (0.19 against 1.2 core-ms on a 256×256 selfie mask, the same boxes).
 */
function blobsOf(mask: Mask, threshold: number): Blob[] {
  const { width: w, height: h, data } = mask;
  const most = ((w + 1) >> 1) * h;
  if (runRow.length < most) {
    runRow = new Int32Array(most);
    runX0 = new Int32Array(most);
    runX1 = new Int32Array(most);
    parent = new Int32Array(most);
    label = new Int32Array(most);
  }
  let n = 0, prevStart = 0;
  for (let y = 0; y < h; y++) {
    const rowStart = n, o = y * w;
    for (let x = 0; x < w; x++) {
      if (!(data[o + x] > threshold)) continue;
      const first = x;
      while (x + 1 < w && data[o + x + 1] > threshold) x++;
      runRow[n] = y;
      runX0[n] = first;
      runX1[n] = x;
      parent[n] = n;
      n++;
    }
    // Join the runs of the row above that touch this row's runs (overlap, or meet at a corner).
    let a = prevStart;
    for (let b = rowStart; b < n; b++) {
      while (a < rowStart && runX1[a] < runX0[b] - 1) a++;
      for (let k = a; k < rowStart && runX0[k] <= runX1[b] + 1; k++) {
        const ra = root(k), rb = root(b);
        // The earlier run is the root, so a blob's root is its first run.
        if (ra < rb) parent[rb] = ra;
        else if (rb < ra) parent[ra] = rb;
      }
    }
    prevStart = rowStart;
  }
  const blobs: Blob[] = [];
  for (let i = 0; i < n; i++) {
    const r = root(i);
    if (r === i) {
      label[i] = blobs.length;
      blobs.push({ cells: 0, x0: w, y0: h, x1: 0, y1: 0 });
    }
    const b = blobs[label[r]];
    b.cells += runX1[i] - runX0[i] + 1;
    if (runX0[i] < b.x0) b.x0 = runX0[i];
    if (runX1[i] > b.x1) b.x1 = runX1[i];
    if (runRow[i] < b.y0) b.y0 = runRow[i];
    if (runRow[i] > b.y1) b.y1 = runRow[i];
  }
  return blobs;
}

/**
 * People in a probability mask: the bounding boxes of its blobs (8-connected cells above the
 * threshold, tiny ones dropped), merged while their margin-grown boxes overlap (an arm and its
 * body; two people standing together) and then, nearest first, down to `maxCrops`.
 */
export function findPeople(mask: Mask, tuning: RoiTuning = DEFAULT_ROI): Box[] {
  const { width: w, height: h } = mask;
  const minCells = Math.max(1, tuning.minBlob * w * h);
  let boxes: Box[] = [];
  for (const b of blobsOf(mask, tuning.threshold)) {
    if (b.cells >= minCells) boxes.push({ x0: b.x0 / w, y0: b.y0 / h, x1: (b.x1 + 1) / w, y1: (b.y1 + 1) / h });
  }
  // Merge boxes that are not clearly apart, then the nearest pairs down to the cap.
  for (;;) {
    const pair = nearestPair(boxes, tuning.margin);
    if (!pair || (pair.gap > 0 && boxes.length <= tuning.maxCrops)) break;
    const [a, b] = [boxes[pair.i], boxes[pair.j]];
    boxes = boxes.filter((_, k) => k !== pair.i && k !== pair.j);
    boxes.push(union(a, b));
  }
  return boxes.sort((a, b) => a.x0 - b.x0 || a.y0 - b.y0);
}

/**
 * The bounding box (fractions of the mask) of all cells above `threshold`, or null when fewer than
 * `minCells` are: how a tracked crop follows its person without finding blobs.
 */
export function extentAbove(mask: Mask, threshold: number, minCells: number): Box | null {
  const { width: w, height: h, data } = mask;
  let cells = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let first = -1, last = -1;
    for (let x = 0; x < w; x++) {
      if (data[o + x] > threshold) {
        if (first < 0) first = x;
        last = x;
        cells++;
      }
    }
    if (first < 0) continue;
    if (y0 === h) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  if (cells < minCells || x1 < 0) return null;
  return { x0: x0 / w, y0: y0 / h, x1: (x1 + 1) / w, y1: (y1 + 1) / h };
}

function union(a: Box, b: Box): Box {
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/** The two boxes with the smallest gap between their margin-grown selves (≤ 0: they overlap). */
function nearestPair(boxes: Box[], margin: number): { i: number; j: number; gap: number } | null {
  let best: { i: number; j: number; gap: number } | null = null;
  const grow = (b: Box) => {
    const mx = (b.x1 - b.x0) * margin, my = (b.y1 - b.y0) * margin;
    return { x0: b.x0 - mx, y0: b.y0 - my, x1: b.x1 + mx, y1: b.y1 + my };
  };
  for (let i = 0; i < boxes.length; i++) {
    const a = grow(boxes[i]);
    for (let j = i + 1; j < boxes.length; j++) {
      const b = grow(boxes[j]);
      const gap = Math.max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1);
      if (!best || gap < best.gap) best = { i, j, gap };
    }
  }
  return best;
}

/**
 * The crop the model looks at for a box (fractions of a width × height frame): the box with the
 * margin on every side, grown to the model's aspect ratio and to its minimum size, then shifted
 * (and, where it is larger than the frame, cut) to lie inside the frame. Frame pixels.
 */
export function cropAround(box: Box, width: number, height: number, model: ModelInput, tuning: RoiTuning = DEFAULT_ROI): Rect {
  const { inputWidth: mw, inputHeight: mh } = model;
  const bw = (box.x1 - box.x0) * width, bh = (box.y1 - box.y0) * height;
  const aspect = mw / mh;
  const gw = Math.max(bw * (1 + 2 * tuning.margin), mw * tuning.minCropScale);
  const gh = Math.max(bh * (1 + 2 * tuning.margin), mh * tuning.minCropScale);
  // The model's aspect ratio where the frame allows it; where one side is cut to the frame, the
  // other keeps the ratio as far as the person allows.
  let cw = Math.max(gw, gh * aspect);
  let ch = Math.max(gh, gw / aspect);
  if (ch > height) [ch, cw] = [height, Math.max(gw, height * aspect)];
  if (cw > width) [cw, ch] = [width, Math.min(height, Math.max(gh, width / aspect))];
  const cx = ((box.x0 + box.x1) / 2) * width, cy = ((box.y0 + box.y1) / 2) * height;
  const x = Math.min(Math.max(cx - cw / 2, 0), width - cw);
  const y = Math.min(Math.max(cy - ch / 2, 0), height - ch);
  return { x, y, width: cw, height: ch };
}

/** Crops for the people in a first-pass mask, or null when zooming gains nothing (nobody, or crops covering most of the frame). */
export function cropsFor(first: Mask, width: number, height: number, model: ModelInput, tuning: RoiTuning = DEFAULT_ROI): Rect[] | null {
  const people = findPeople(first, tuning);
  if (people.length === 0) return null;
  return worthZooming(people.map((box) => cropAround(box, width, height, model, tuning)), width, height, tuning);
}

/** The crops, or null where together they cover so much of the frame that zooming gains nothing. */
function worthZooming(crops: Rect[], width: number, height: number, tuning: RoiTuning): Rect[] | null {
  const covered = crops.reduce((sum, c) => sum + c.width * c.height, 0);
  return covered > tuning.maxCoverage * width * height ? null : crops;
}

/** One crop's mask at the model's size, with the crop (frame pixels) it covers. */
export interface CropMask {
  crop: Rect;
  mask: Mask;
}

/**
 * The model's look at a crop of the frame (frame pixels), or at the whole frame when `crop` is
 * undefined. It may write the mask into `into` (a mask of the model's output size the caller
 * reuses) and return that; a look that ignores `into` returns a mask of its own.
 */
export type Look = (crop?: Rect, into?: Mask) => Promise<Mask>;

/** The model's look at a frame in Node or anywhere the frame's pixels are at hand. */
export function lookAt(segmenter: Segmenter, frame: Frame, timings?: SegmentTimings): Look {
  return (crop, into) => segmenter.segment(frame, timings, crop, into);
}

/** Runs the model on each crop, the k-th crop's mask into `pool[k]` where there is one. */
async function lookAtCrops(look: Look, crops: Rect[], pool: Mask[] = []): Promise<CropMask[]> {
  const parts: CropMask[] = [];
  for (const [k, crop] of crops.entries()) parts.push({ crop, mask: await look(crop, pool[k]) });
  return parts;
}

/** pasteCrops' tables, kept between calls (it runs once per stream frame). */
const pasteTaps: [AxisTaps, AxisTaps] = [
  { i0: new Int32Array(0), i1: new Int32Array(0), w1: new Float32Array(0) },
  { i0: new Int32Array(0), i1: new Int32Array(0), w1: new Float32Array(0) },
];

/**
 * The crop masks pasted into a gridWidth × gridHeight mask of the whole width × height frame: each
 * cell whose centre lies in a crop samples that crop's mask bilinearly (half-pixel centres, as
 * every upsample here); where crops overlap the larger value wins; cells outside every crop are 0.
 * Written into `into` (gridWidth × gridHeight) when given, else into a new mask.
 */
export function pasteCrops(parts: CropMask[], width: number, height: number, gridWidth: number, gridHeight: number, into?: Mask): Mask {
  if (into && (into.width !== gridWidth || into.height !== gridHeight || into.data.length !== gridWidth * gridHeight)) {
    throw new RangeError(`mask to paste into is ${into.width}×${into.height}, not ${gridWidth}×${gridHeight}`);
  }
  const out = into ?? createMask(gridWidth, gridHeight);
  const od = out.data;
  if (into) od.fill(0);
  for (const { crop, mask } of parts) {
    const { width: mw, height: mh, data: md } = mask;
    // Grid cell g has its centre at frame x = (g + 0.5)·width/gridWidth, which is mask x =
    // (x − crop.x)·mw/crop.width − 0.5: axisTaps over the whole grid with a shifted start.
    const sx = mw / crop.width, sy = mh / crop.height;
    const xs = (pasteTaps[0] = axisTaps(mw, gridWidth, -crop.x * sx, width * sx, pasteTaps[0]));
    const ys = (pasteTaps[1] = axisTaps(mh, gridHeight, -crop.y * sy, height * sy, pasteTaps[1]));
    const gx0 = Math.max(0, Math.ceil((crop.x * gridWidth) / width - 0.5));
    const gx1 = Math.min(gridWidth, Math.ceil(((crop.x + crop.width) * gridWidth) / width - 0.5));
    const gy0 = Math.max(0, Math.ceil((crop.y * gridHeight) / height - 0.5));
    const gy1 = Math.min(gridHeight, Math.ceil(((crop.y + crop.height) * gridHeight) / height - 0.5));
    for (let gy = gy0; gy < gy1; gy++) {
      const r0 = ys.i0[gy] * mw, r1 = ys.i1[gy] * mw, wy = ys.w1[gy];
      for (let gx = gx0; gx < gx1; gx++) {
        const a = xs.i0[gx], b = xs.i1[gx], wx = xs.w1[gx];
        const top = md[r0 + a] + (md[r0 + b] - md[r0 + a]) * wx;
        const bottom = md[r1 + a] + (md[r1 + b] - md[r1 + a]) * wx;
        const v = top + (bottom - top) * wy;
        const o = gy * gridWidth + gx;
        if (v > od[o]) od[o] = v;
      }
    }
  }
  return out;
}

/**
 * A photo's mask with ROI zoom: the first pass alone when zooming gains nothing, else the crop
 * masks pasted into a mask of the frame's shape fine enough to keep their detail (the densest
 * crop's model pixels per frame pixel, at most the frame's own size).
 */
export function segmentZoomed(segmenter: Segmenter, frame: Frame, timings?: SegmentTimings, tuning: RoiTuning = DEFAULT_ROI): Promise<Mask> {
  return zoomedMask(lookAt(segmenter, frame, timings), frame.width, frame.height, segmenter.spec, tuning);
}

/** segmentZoomed for a width × height picture seen through `look` (a browser crops on the GPU). */
export async function zoomedMask(look: Look, width: number, height: number, model: ModelInput, tuning: RoiTuning = DEFAULT_ROI): Promise<Mask> {
  const first = await look();
  const crops = cropsFor(first, width, height, model, tuning);
  if (!crops) return first;
  const parts = await lookAtCrops(look, crops);
  const scale = Math.min(1, Math.max(...parts.map(({ crop, mask }) => Math.max(mask.width / crop.width, mask.height / crop.height))));
  const gw = Math.max(1, Math.round(width * scale)), gh = Math.max(1, Math.round(height * scale));
  return pasteCrops(parts, width, height, gw, gh);
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (!(w > 0 && h > 0)) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Crops overlapping by at least this much (IoU) frame the same person. */
const SAME_PERSON = 0.5;

/**
 * ROI zoom for a stream: the crops follow the people from frame to frame, each moved to the cells
 * its own mask has above the threshold, so a frame costs one inference per person; the people
 * finder (blobs, findPeople) runs only on full-frame passes. A full-frame pass runs every
 * `refreshEvery` frames (someone may have come in), and at once when a person is lost, reaches a
 * crop's edge or grows too big for zooming to help. The mask covers the whole frame on a fixed
 * grid (the model's output size unless asked otherwise), so temporal smoothing and every
 * compositor take it as it is. The tracker keeps the crops' masks between frames: it allocates
 * nothing per frame when given a mask to write `into`.
 */
export class RoiTracker {
  /** The crops being followed; null while the whole frame is what the model sees. */
  private crops: Rect[] | null = null;
  private sinceFull = 0;
  /** The block of refreshEvery frames (by a video frame's index) whose full-frame pass is done. */
  private fullBlock = -1;
  /** The full pass's mask and the crops' masks, reused from frame to frame (model output size). */
  private full: Mask | null = null;
  private pool: Mask[] = [];

  constructor(private readonly tuning: RoiTuning = DEFAULT_ROI) {}

  /** Forget the crops (after a seek or a cut): the next frame starts with a full-frame pass. */
  reset(): void {
    this.crops = null;
  }

  /** The next frame's mask in Node: see `track`. */
  segment(segmenter: Segmenter, frame: Frame, timings?: SegmentTimings, grid?: GridSize, into?: Mask): Promise<Mask> {
    return this.track(lookAt(segmenter, frame, timings), frame.width, frame.height, segmenter.spec, grid, into, frame.index);
  }

  /**
   * The next width × height frame's mask over the whole frame, from `look` (the model's look at a
   * crop, or at the whole frame: a browser crops on the GPU), on `grid` (default: the model's
   * output size). Every frame's mask has that size, zoomed or not, so smoothing keeps its history.
   * Written `into` a mask of the grid's size when given (a stream reuses one), else a new mask.
   * A video file's frames give their `index` (position in the file): the full-frame passes then
   * fall on the first frame looked at in each block of refreshEvery frames, so a video processed
   * in pieces makes them where one run does.
   */
  async track(look: Look, width: number, height: number, model: ModelSpec, grid: GridSize = { width: model.outputWidth, height: model.outputHeight }, into?: Mask, index?: number): Promise<Mask> {
    const { width: gw, height: gh } = grid;
    if (!(Number.isInteger(gw) && Number.isInteger(gh) && gw >= 1 && gh >= 1)) throw new RangeError(`mask grid must be positive whole numbers, got ${gw}×${gh}`);
    if (into && (into.width !== gw || into.height !== gh || into.data.length !== gw * gh)) {
      throw new RangeError(`mask to track into is ${into.width}×${into.height}, not ${gw}×${gh}`);
    }
    const buffers = this.buffers(model);
    const { refreshEvery } = this.tuning;
    const due = index === undefined ? ++this.sinceFull >= refreshEvery : Math.floor(index / refreshEvery) !== this.fullBlock;
    if (!this.crops || due) {
      const first = await look(undefined, buffers.full);
      this.sinceFull = 0;
      if (index !== undefined) this.fullBlock = Math.floor(index / refreshEvery);
      // The full pass is there to find who came or went: when it finds the same people, the crops
      // their own finer masks placed stay (its coarse boxes would move them there and back).
      this.crops = this.steady(cropsFor(first, width, height, model, this.tuning), SAME_PERSON);
      if (!this.crops) {
        if (first.width === gw && first.height === gh) {
          if (!into) return first === buffers.full ? { width: gw, height: gh, data: first.data.slice() } : first;
          into.data.set(first.data);
          return into;
        }
        // The whole frame as one crop: the bilinear (half-pixel) resample onto the grid.
        return pasteCrops([{ crop: { x: 0, y: 0, width, height }, mask: first }], width, height, gw, gh, into);
      }
    }
    const parts = await lookAtCrops(look, this.crops, buffers.pool);
    this.crops = this.steady(this.follow(parts, width, height, model));
    return pasteCrops(parts, width, height, gw, gh, into);
  }

  /** The reused masks for the model's output size. */
  private buffers(model: ModelSpec): { full: Mask; pool: Mask[] } {
    const { outputWidth: w, outputHeight: h } = model;
    if (!this.full || this.full.width !== w || this.full.height !== h) {
      this.full = createMask(w, h);
      this.pool = Array.from({ length: this.tuning.maxCrops }, () => createMask(w, h));
    }
    return { full: this.full, pool: this.pool };
  }

  /**
   * Where each person is now, from their crop's mask: the cells above the threshold (one pass, no
   * blob finding; the crop frames one person or group). Null when one was lost or touches their
   * crop's edge.
   */
  private follow(parts: CropMask[], width: number, height: number, model: ModelInput): Rect[] | null {
    const crops: Rect[] = [];
    for (const { crop, mask } of parts) {
      const p = extentAbove(mask, this.tuning.threshold, Math.max(1, this.tuning.minBlob * mask.width * mask.height));
      if (!p) return null;
      // A person cut by the crop's edge (where that edge is not the frame's) may go on beyond it.
      const edge = 1 / mask.width;
      const cut =
        (p.x0 < edge && crop.x > 0.5) ||
        (p.y0 < edge && crop.y > 0.5) ||
        (p.x1 > 1 - edge && crop.x + crop.width < width - 0.5) ||
        (p.y1 > 1 - edge && crop.y + crop.height < height - 0.5);
      if (cut) return null;
      const box: Box = {
        x0: (crop.x + p.x0 * crop.width) / width,
        y0: (crop.y + p.y0 * crop.height) / height,
        x1: (crop.x + p.x1 * crop.width) / width,
        y1: (crop.y + p.y1 * crop.height) / height,
      };
      crops.push(cropAround(box, width, height, model, this.tuning));
    }
    return worthZooming(crops, width, height, this.tuning);
  }

  /**
   * The new crops, except that a crop overlapping its tracked one by at least `keep` (IoU; by default
   * it moved only a little) stays where it was. Null: a full-frame pass next frame.
   */
  private steady(next: Rect[] | null, keep = this.tuning.keepOverlap): Rect[] | null {
    const before = this.crops;
    if (!next || !before || before.length !== next.length) return next;
    return next.map((crop, i) => (overlap(crop, before[i]) >= keep ? before[i] : crop));
  }
}
