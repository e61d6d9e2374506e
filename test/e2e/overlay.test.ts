/** The FPS overlay's text (runs in Node): stage times read in pipeline order, whatever order they were recorded in. */
import { describe, expect, it } from 'vitest';
import { overlayText } from '../../web/overlay.js';
import type { ProcessorMetrics } from '../../src/browser/index.js';

const metrics: ProcessorMetrics = {
  fps: 30, maskFps: 15,
  ms: { inference: 20, modelInput: 2, composite: 5, total: 25 },
  frames: 30, dropped: 2, inferences: 15, inferencesPerMask: 1,
  compositor: 'webgl2', backend: 'onnxruntime-web wasm ×1', fallbacks: [],
};

describe('overlayText', () => {
  it('lists the GPU stages in pipeline order and leaves out empty ones', () => {
    // Recorded out of order, as a frame held for its mask records its upload after the previous composite.
    const stages = { blurGaussian: 1.5, guide: 0, composite: 4, temporal: 0.5, upload: 2, modelInput: 3, render: 9 };
    const text = overlayText({ metrics, width: 640, height: 360, stages, processed: true });
    expect(text.split('\n')[3]).toBe('upload 2.0  temporal 0.5  blurGaussian 1.5  composite 4.0');
    expect(text).toContain('30.0 fps   masks 15.0/s   640×360');
    expect(text).toContain('webgl2 · onnxruntime-web wasm ×1 · 2 dropped');
  });

  it('says so when the model is not loaded', () => {
    expect(overlayText({ metrics, width: 640, height: 360, stages: undefined, processed: false })).toMatch(/raw camera/);
  });
});
