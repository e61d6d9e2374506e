/** Node's own masks of a frame, to judge what a browser drew against. */
import { refineMask } from '../../src/core/effect.js';
import type { Frame, Mask } from '../../src/core/frame.js';
import { upsampleMask } from '../../src/core/postprocess.js';
import { RoiTracker, type RoiMode } from '../../src/core/roi.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';

/** Frames a stream's ROI tracker is shown before its mask is taken: it has settled on its crops by then. */
const SETTLE = 3;

/**
 * The general model's mask of `frame` in Node, at the frame's size: `reference` plain bilinear,
 * `refined` with bilateral edges and the soft edge: what the browser compositors draw (the core's
 * photo default is the guided filter, which the browser does not have). With `roi` 'auto', the mask
 * a stream's ROI zoom gives when it shows this frame over and over (as a browser processor on a
 * still camera does); by default the single look at the whole frame.
 */
export async function nodeMasks(frame: Frame, roi: RoiMode = 'off'): Promise<{ reference: Mask; refined: Mask }> {
  const { onnx, spec } = await loadBuiltinModel('general');
  const segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
  try {
    let low = await segmenter.segment(frame);
    if (roi === 'auto') {
      const tracker = new RoiTracker();
      for (let k = 0; k < SETTLE; k++) low = await tracker.segment(segmenter, frame);
    }
    return { reference: upsampleMask(low, frame.width, frame.height), refined: refineMask(low, frame, { refine: 'bilateral' }) };
  } finally {
    await segmenter.close();
  }
}
