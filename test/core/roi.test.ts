import { describe, expect, it } from 'vitest';
import { createMask, type Mask } from '../../src/core/frame.js';
import type { ModelSpec } from '../../src/core/modelSpec.js';
import { upsampleMask } from '../../src/core/postprocess.js';
import { cropAround, DEFAULT_ROI, extentAbove, findPeople, pasteCrops, RoiTracker, type Look } from '../../src/core/roi.js';

/** A w × h mask with 1 inside the given cell rectangles [x0, y0, x1, y1) and 0 elsewhere. */
function blobs(w: number, h: number, ...rects: [number, number, number, number][]): Mask {
  const m = createMask(w, h);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m.data[y * w + x] = 1;
  return m;
}

const square = { inputWidth: 256, inputHeight: 256 };
const landscape = { inputWidth: 256, inputHeight: 144 };

describe('findPeople', () => {
  it('gives one box per person when they are clearly apart, in fractions of the mask', () => {
    const boxes = findPeople(blobs(100, 50, [10, 10, 20, 40], [70, 5, 80, 45]));
    expect(boxes).toEqual([
      { x0: 0.1, y0: 0.2, x1: 0.2, y1: 0.8 },
      { x0: 0.7, y0: 0.1, x1: 0.8, y1: 0.9 },
    ]);
  });

  it('merges a hand held apart from the body, and people standing together, into one box', () => {
    // The hand is 2 cells from the body: inside the body's margin.
    const boxes = findPeople(blobs(100, 50, [40, 10, 50, 40], [52, 12, 56, 16]));
    expect(boxes).toEqual([{ x0: 0.4, y0: 0.2, x1: 0.56, y1: 0.8 }]);
  });

  it('drops specks smaller than minBlob and finds nobody in an empty mask', () => {
    expect(findPeople(blobs(100, 100, [5, 5, 6, 6]))).toEqual([]);
    expect(findPeople(createMask(64, 64))).toEqual([]);
    // The same speck counts when large enough relative to the mask.
    expect(findPeople(blobs(10, 10, [5, 5, 6, 6]))).toHaveLength(1);
  });

  it('merges the nearest people down to maxCrops', () => {
    const four = blobs(200, 20, [0, 5, 4, 15], [40, 5, 44, 15], [50, 5, 54, 15], [150, 5, 154, 15]);
    expect(findPeople(four, { ...DEFAULT_ROI, maxCrops: 4 })).toHaveLength(4);
    const three = findPeople(four, { ...DEFAULT_ROI, maxCrops: 3 });
    expect(three).toHaveLength(3);
    // The two closest (40–44 and 50–54) became one.
    expect(three[1]).toEqual({ x0: 0.2, y0: 0.25, x1: 0.27, y1: 0.75 });
  });
});

describe('cropAround', () => {
  it('adds the margin, grows to the model aspect ratio and stays centred on the person', () => {
    const c = cropAround({ x0: 0.4, y0: 0.3, x1: 0.5, y1: 0.7 }, 1000, 1000, square);
    // Box 100 × 400 px; + 15 % each side: 130 × 520; square: 520 × 520, centred on (450, 500).
    expect(c.width).toBeCloseTo(520);
    expect(c.height).toBeCloseTo(520);
    expect(c.x + c.width / 2).toBeCloseTo(450);
    expect(c.y + c.height / 2).toBeCloseTo(500);
  });

  it('shifts into the frame at its edges and is cut to the frame where it is larger', () => {
    const c = cropAround({ x0: 0.9, y0: 0.1, x1: 1, y1: 0.9 }, 1600, 400, landscape);
    expect(c.x + c.width).toBeCloseTo(1600);
    expect(c.y).toBe(0);
    expect(c.height).toBe(400);
    expect(c.width / c.height).toBeCloseTo(256 / 144);
  });

  it('is never smaller than half the model input (blown-up pixels tell the model nothing)', () => {
    const c = cropAround({ x0: 0.5, y0: 0.5, x1: 0.501, y1: 0.502 }, 4000, 4000, square);
    expect(c.width).toBeCloseTo(128);
    expect(c.height).toBeCloseTo(128);
  });
});

describe('pasteCrops', () => {
  it('samples each crop where it lies in the frame and leaves 0 outside every crop', () => {
    // A 4 × 4 crop mask with values 0..15, covering frame pixels 20..60 × 10..50 of a 100 × 100 frame.
    const mask = createMask(4, 4);
    mask.data.forEach((_, i) => (mask.data[i] = i / 15));
    const out = pasteCrops([{ crop: { x: 20, y: 10, width: 40, height: 40 }, mask }], 100, 100, 10, 10);
    // Grid cell (3, 2) has its centre at frame (35, 25): mask (1.0, 1.0) → value 5/15 exactly.
    expect(out.data[2 * 10 + 3]).toBeCloseTo(5 / 15, 6);
    // Cell (2, 1), centre (25, 15): mask (0, 0) after the half-pixel shift → 0.
    expect(out.data[1 * 10 + 2]).toBeCloseTo(0, 6);
    // Cells whose centres lie outside the crop (x ≥ 60 or y < 10) are 0; those inside are not all 0.
    for (let gy = 0; gy < 10; gy++) {
      for (let gx = 0; gx < 10; gx++) {
        const inside = gx * 10 + 5 >= 20 && gx * 10 + 5 < 60 && gy * 10 + 5 >= 10 && gy * 10 + 5 < 50;
        if (!inside) expect(out.data[gy * 10 + gx], `cell ${gx},${gy}`).toBe(0);
      }
    }
    expect(out.data[4 * 10 + 5]).toBeCloseTo(15 / 15, 6);
  });

  it('keeps the larger value where crops overlap', () => {
    const low = createMask(2, 2, 0.3);
    const high = createMask(2, 2, 0.8);
    const out = pasteCrops(
      [
        { crop: { x: 0, y: 0, width: 60, height: 60 }, mask: high },
        { crop: { x: 40, y: 40, width: 60, height: 60 }, mask: low },
      ],
      100, 100, 10, 10,
    );
    expect(out.data[5 * 10 + 5]).toBeCloseTo(0.8);
    expect(out.data[8 * 10 + 8]).toBeCloseTo(0.3);
    expect(out.data[1 * 10 + 8]).toBe(0);
  });
});

describe('extentAbove', () => {
  it('boxes every cell above the threshold, and is null below minCells', () => {
    const m = blobs(100, 50, [10, 10, 20, 40], [70, 5, 71, 6]);
    expect(extentAbove(m, 0.5, 1)).toEqual({ x0: 0.1, y0: 0.1, x1: 0.71, y1: 0.8 });
    expect(extentAbove(blobs(10, 10, [2, 2, 4, 3]), 0.5, 3)).toBeNull();
    expect(extentAbove(createMask(8, 8), 0.5, 1)).toBeNull();
  });
});

describe('RoiTracker', () => {
  const spec = { inputWidth: 32, inputHeight: 32, outputWidth: 32, outputHeight: 32 } as ModelSpec;
  const W = 640, H = 360;
  /** A small person at frame pixels [300, 340) × [150, 250): the model's view of the frame or of a crop. */
  function scene(log: string[]): Look {
    return async (crop, into) => {
      log.push(crop ? 'crop' : 'full');
      const c = crop ?? { x: 0, y: 0, width: W, height: H };
      const m = into ?? createMask(32, 32);
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const fx = c.x + ((x + 0.5) * c.width) / 32, fy = c.y + ((y + 0.5) * c.height) / 32;
          m.data[y * 32 + x] = fx >= 300 && fx < 340 && fy >= 150 && fy < 250 ? 1 : 0;
        }
      }
      return m;
    };
  }

  it('follows a still person with one crop pass a frame and a full pass every refreshEvery frames', async () => {
    const log: string[] = [];
    const tracker = new RoiTracker();
    const look = scene(log);
    for (let i = 0; i < 20; i++) await tracker.track(look, W, H, spec);
    expect(log.filter((l) => l === 'full')).toHaveLength(2);
    expect(log.filter((l) => l === 'crop')).toHaveLength(20);
  });

  it("keys a video's full passes on its frames' positions: the first frame looked at in each block of refreshEvery", async () => {
    const full = async (indices: number[]) => {
      const log: string[] = [];
      const tracker = new RoiTracker();
      const look = scene(log);
      const at: number[] = [];
      for (const index of indices) {
        const before = log.length;
        await tracker.track(look, W, H, spec, undefined, undefined, index);
        if (log[before] === 'full') at.push(index);
      }
      return at;
    };
    // A run from frame 7, and one that looks at every other frame (the rest skip the model): the
    // same passes from frame 10 on, as a run from frame 0 makes them.
    expect(await full(Array.from({ length: 25 }, (_, i) => 7 + i))).toEqual([7, 10, 20, 30]);
    expect(await full(Array.from({ length: 13 }, (_, i) => 7 + 2 * i))).toEqual([7, 11, 21, 31]);
    expect(await full(Array.from({ length: 32 }, (_, i) => i))).toEqual([0, 10, 20, 30]);
  });

  it('pastes onto the grid asked for, into the mask given, and resamples a full pass onto it', async () => {
    const tracker = new RoiTracker();
    const into = createMask(80, 45);
    const out = await tracker.track(scene([]), W, H, spec, { width: 80, height: 45 }, into);
    expect(out).toBe(into);
    // The person covers grid columns [37.5, 42.5) and rows [33.3, 55.6) → [37, 42] × [33, 55]ish.
    expect(out.data[25 * 80 + 40]).toBeGreaterThan(0.5);
    expect(out.data[25 * 80 + 20]).toBe(0);
    await expect(tracker.track(scene([]), W, H, spec, { width: 80, height: 45 }, createMask(32, 32))).rejects.toThrow(/80×45/);
    // Someone filling the frame (no crop worth it): the full pass itself, bilinearly on the grid.
    const value = (i: number) => 0.6 + (0.3 * (i % 32)) / 31 + (0.05 * (i >> 5)) / 31;
    const wide: Look = async (_crop, m) => {
      const mask = m ?? createMask(32, 32);
      mask.data.forEach((_, i) => (mask.data[i] = value(i)));
      return mask;
    };
    const full = await new RoiTracker().track(wide, W, H, spec, { width: 80, height: 45 });
    const ref = upsampleMask({ width: 32, height: 32, data: Float32Array.from({ length: 1024 }, (_, i) => value(i)) }, 80, 45);
    for (let i = 0; i < full.data.length; i++) expect(full.data[i]).toBeCloseTo(ref.data[i], 6);
  });
});
