/**
 * `npm run eval`: mask quality over ../shared/testdata, printed as tables.
 *  1. Fidelity to the official MediaPipe output (goldens/): what `--mask --refine none` writes.
 *  2. Agreement with human masks (DAVIS, labelme) for the raw model output, the seed's hard
 *     threshold and backdrop's refined masks (bilateral, and guided), each from the whole-frame pass
 *     and with ROI zoom (ROI zoom with guided edges is the photo default): IoU and boundary error
 *     (MAE within 10 px of the edge).
 *  3. Flicker over video without and with temporal smoothing (eval/flicker.ts).
 *  4. A video's mask as the product makes it, against the same frames as photos, and on steady
 *     video with and without frames that skip the model, against RVM mattes (eval/videoPath.ts);
 *     `npm run eval -- video` runs this part alone.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { refineMask, DEFAULT_THRESHOLD } from '../src/core/effect.js';
import type { Frame, Mask } from '../src/core/frame.js';
import type { BuiltinModel } from '../src/core/modelSpec.js';
import { segmentZoomed } from '../src/core/roi.js';
import { Segmenter } from '../src/core/segmenter.js';
import { decodeImage } from '../src/node/imageIO.js';
import { loadBuiltinModel } from '../src/node/models.js';
import { onnxNodeBackend } from '../src/node/onnxBackend.js';
import { compareMasks, goldenRows, readGolden } from '../test/helpers/goldens.js';
import { testdata } from '../test/helpers/testdata.js';
import { flickerEval } from './flicker.js';
import { accumulate, boundaryError, edgeBand, emptyTally, iou, type Tally, type Truth } from './metrics.js';
import { readPaletteIndices } from './pngIndices.js';
import { videoPathEval } from './videoPath.js';

const MODELS: BuiltinModel[] = ['general', 'landscape'];
if (process.argv[2] === 'video') {
  await videoPathEval(MODELS);
  process.exit(0);
}
const segmenters = new Map<BuiltinModel, Segmenter>();
for (const m of MODELS) {
  const { onnx, spec } = await loadBuiltinModel(m);
  segmenters.set(m, await Segmenter.create(onnxNodeBackend(), onnx, spec));
}

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(4) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n${title}\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

const quantise = (m: Mask) => Float32Array.from(m.data, (p) => Math.round(Math.min(1, Math.max(0, p)) * 255) / 255);

// 1. Fidelity to the official MediaPipe solution.
{
  const rows: (string | number)[][] = [];
  for (const model of MODELS) {
    const goldens = goldenRows().filter((r) => !r.modelres && r.model === model);
    let sumMad = 0;
    let maxMad = 0;
    let sumIou = 0;
    let minIou = 1;
    for (const g of goldens) {
      const { frame } = await decodeImage(testdata(g.input));
      const low = await segmenters.get(model)!.segment(frame);
      const ours = quantise(refineMask(low, frame, { refine: 'none' }));
      const golden = await readGolden(g.golden);
      const c = compareMasks(ours, golden.data);
      sumMad += c.mad;
      maxMad = Math.max(maxMad, c.mad);
      sumIou += c.iou;
      if (c.coverage >= 0.01) minIou = Math.min(minIou, c.iou);
    }
    rows.push([model, String(goldens.length), sumMad / goldens.length, maxMad, sumIou / goldens.length, minIou]);
  }
  table('Fidelity to the official MediaPipe solution (--mask --refine none, 8-bit), targets: MAD ≤ 0.002 each, IoU ≥ 0.98 each (person ≥ 1 %), ≥ 0.995 mean', ['model', 'images', 'mean MAD', 'max MAD', 'mean IoU@0.5', 'min IoU@0.5'], rows);
}

// 2. Human ground truth.
interface Pair {
  set: string;
  input: string;
  truth: () => Promise<Truth>;
}

const pairs: Pair[] = [];
for (const line of readFileSync(testdata('PAIRS.tsv'), 'utf8').trim().split('\n').slice(1)) {
  const [input, gt, type, rule] = line.split('\t');
  if (type.startsWith('human annotation (DAVIS')) {
    const seq = input.split('/')[4];
    const empty = rule.includes('person mask expected empty');
    pairs.push({ set: `DAVIS ${seq}${empty ? ' (dog, no person)' : ''}`, input, truth: () => (empty ? zeros(gt) : greyTruth(gt)) });
  } else if (type.startsWith('human annotation (labelme')) {
    pairs.push({ set: 'labelme VOC', input, truth: async () => paletteTruth(gt) });
  } else if (type === 'trivial') {
    pairs.push({ set: 'no person', input, truth: () => zerosLike(input) });
  }
}

async function greyTruth(path: string): Promise<Truth> {
  const { data } = await sharp(testdata(path)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return Float32Array.from(data, (v) => (v >= 128 ? 1 : 0));
}
async function zeros(path: string): Promise<Truth> {
  const m = await sharp(testdata(path)).metadata();
  return new Float32Array(m.width * m.height);
}
async function zerosLike(input: string): Promise<Truth> {
  const { frame } = await decodeImage(testdata(input));
  return new Float32Array(frame.width * frame.height);
}
function paletteTruth(path: string): Truth {
  const { data } = readPaletteIndices(testdata(path));
  return Float32Array.from(data, (v) => (v === 255 ? NaN : v === 15 ? 1 : 0));
}

/** `low`: the whole-frame pass (--roi off); `zoomed`: with ROI zoom (--roi auto, the default). */
const variants = {
  raw: (low: Mask, _zoomed: Mask, frame: Frame) => refineMask(low, frame, { refine: 'none' }).data,
  'seed hard threshold': (low: Mask, _zoomed: Mask, frame: Frame) => Float32Array.from(refineMask(low, frame, { refine: 'none' }).data, (p) => (p > DEFAULT_THRESHOLD ? 1 : 0)),
  bilateral: (low: Mask, _zoomed: Mask, frame: Frame) => refineMask(low, frame, { refine: 'bilateral' }).data,
  guided: (low: Mask, _zoomed: Mask, frame: Frame) => refineMask(low, frame, { refine: 'guided' }).data,
  'ROI zoom, raw': (_low: Mask, zoomed: Mask, frame: Frame) => refineMask(zoomed, frame, { refine: 'none' }).data,
  'ROI zoom, bilateral': (_low: Mask, zoomed: Mask, frame: Frame) => refineMask(zoomed, frame, { refine: 'bilateral' }).data,
  'ROI zoom, guided (default)': (_low: Mask, zoomed: Mask, frame: Frame) => refineMask(zoomed, frame, { refine: 'guided' }).data,
};
type Variant = keyof typeof variants;

for (const model of MODELS) {
  const tallies = new Map<string, Map<Variant, Tally>>();
  for (const pair of pairs) {
    const { frame } = await decodeImage(testdata(pair.input));
    const truth = await pair.truth();
    const band = edgeBand(truth, frame.width, frame.height, 10);
    const low = await segmenters.get(model)!.segment(frame);
    const zoomed = await segmentZoomed(segmenters.get(model)!, frame);
    const perSet = tallies.get(pair.set) ?? new Map<Variant, Tally>();
    tallies.set(pair.set, perSet);
    for (const [name, make] of Object.entries(variants) as [Variant, (typeof variants)[Variant]][]) {
      const t = perSet.get(name) ?? emptyTally();
      accumulate(t, make(low, zoomed, frame), truth, band);
      perSet.set(name, t);
    }
  }
  // All human-annotated person masks pooled (DAVIS hike + breakdance-flare + labelme).
  const pooled = new Map<Variant, Tally>();
  for (const [set, perSet] of tallies) {
    if (set.includes('no person')) continue;
    for (const [variant, t] of perSet) {
      const p = pooled.get(variant) ?? emptyTally();
      for (const k of Object.keys(p) as (keyof Tally)[]) p[k] += t[k];
      pooled.set(variant, p);
    }
  }
  tallies.set('all human masks', pooled);
  const rows: (string | number)[][] = [];
  for (const [set, perSet] of tallies) {
    for (const [variant, t] of perSet) {
      const negative = t.union === t.falsePositive;
      rows.push([set, variant, negative ? '—' : iou(t), negative ? '—' : boundaryError(t), (100 * t.falsePositive) / t.pixels]);
    }
  }
  table(`Human ground truth, ${model} model (IoU@0.5 over all frames of a set; boundary error = mean |mask − truth| within 10 px of the true edge)`, ['set', 'mask', 'IoU', 'boundary error', 'false person %'], rows);
}

// 3. Flicker over video, raw vs temporal smoothing (eval/flicker.ts).
await flickerEval(segmenters);

// 4. A video's mask as the product makes it (eval/videoPath.ts).
await videoPathEval(MODELS);

for (const s of segmenters.values()) await s.close();
