/** Node's own masks of a frame, to judge what a browser drew against. */
import { refineMask } from '../../src/core/effect.js';
import type { Frame, Mask } from '../../src/core/frame.js';
import { upsampleMask } from '../../src/core/postprocess.js';
import { Segmenter } from '../../src/core/segmenter.js';
import { loadBuiltinModel } from '../../src/node/models.js';
import { onnxNodeBackend } from '../../src/node/onnxBackend.js';

/**
 * The general model's mask of `frame` in Node, at the frame's size: `reference` plain bilinear,
 * `refined` with bilateral edges and the soft edge: what the browser compositors draw (the core's
 * photo default is now the guided filter, which the browser does not have).
 */
export async function nodeMasks(frame: Frame): Promise<{ reference: Mask; refined: Mask }> {
  const { onnx, spec } = await loadBuiltinModel('general');
  const segmenter = await Segmenter.create(onnxNodeBackend(), onnx, spec);
  try {
    const low = await segmenter.segment(frame);
    return { reference: upsampleMask(low, frame.width, frame.height), refined: refineMask(low, frame, { refine: 'bilateral' }) };
  } finally {
    await segmenter.close();
  }
}
