/** backdrop's platform-neutral core: usable from Node, browsers and workers alike. */
export type { Frame, Mask, Rect } from './frame.js';
export { createFrame, createMask } from './frame.js';
export type { ModelSpec, BuiltinModel } from './modelSpec.js';
export { builtinSpec, validateSpec, BUILTIN_MODELS } from './modelSpec.js';
export type { InferenceBackend, InferenceSession } from './runtime.js';
export { tfliteToOnnx, type OnnxModel } from './tflite/toOnnx.js';
export { Segmenter, type SegmentTimings } from './segmenter.js';
export { frameToTensor } from './preprocess.js';
export { tensorToMask, upsampleMask } from './postprocess.js';
export { smoothstepMask, hardThreshold, invertMask, jointBilateralUpsample } from './refine.js';
export { guidedUpsample, guidedRefine, type GuidedFilterOptions } from './guidedFilter.js';
export { composite, maskToGray, type Background } from './composite.js';
export { cutout } from './matte.js';
export { blurBackground } from './blur.js';
export { fitBackground, resizeFrame, type Fit } from './resize.js';
export { parseColor, type RGBA } from './color.js';
export type { FrameProcessor } from './processor.js';
export {
  BackgroundEffect,
  refineMask,
  DEFAULT_LIGHT_WRAP,
  DEFAULT_REFINE,
  DEFAULT_SOFTNESS,
  DEFAULT_THRESHOLD,
  type Effect,
  type EffectOptions,
  type MaskOptions,
  REFINE_MODES,
  type Refine,
  type StageTimings,
} from './effect.js';
export { Engine, runEngine, type EngineOptions, type EngineSummary, type FrameRange, type FrameSink, type FrameSource, type FrameStats } from './engine.js';
export { FpsMeter, type Corner, type FpsMeterOptions } from './fpsMeter.js';
export { drawText, measureText, type TextOptions } from './font.js';
export { FlipProcessor, flipFrame, type FlipOptions } from './flip.js';
export { RoiTracker, segmentZoomed, zoomedMask, lookAt, findPeople, cropAround, pasteCrops, DEFAULT_ROI, ROI_MODES, type Look, type RoiMode, type RoiTuning, type Box, type GridSize } from './roi.js';
export { TemporalSmoother, DEFAULT_TEMPORAL, type TemporalOptions } from './temporal.js';
export type { BackgroundProvider } from './backgroundProvider.js';
export { streamChain, type StreamChain, type StreamOptions } from './streamChain.js';
