/**
 * backdrop in the browser: the onnxruntime-web backend, model loading, the WebGL2 compositor (with
 * a canvas-2D fallback) and the MediaStreamTrack processor.
 */
export { ortWebBackend, defaultThreadCount } from './ortWebBackend.js';
export type { OrtWebBackend, OrtWebBackendOptions, ExecutionProvider } from './ortWebBackend.js';
export { loadModel, createSegmenter, modelBytes } from './models.js';
export type { LoadedModel, ModelSource } from './models.js';
export { DEFAULT_COMPOSITOR_OPTIONS, mergeOptions, blurSigma } from './compositor.js';
export type { Compositor, CompositorOptions, BrowserEffect, RefineMode, FrameSource, StageTimes } from './compositor.js';
export { createCompositor } from './createCompositor.js';
export type { CompositorKind, CreateCompositorOptions } from './createCompositor.js';
export { WebGLCompositor, createWebGLCompositor, hasWebGL2 } from './webgl/webglCompositor.js';
export { Canvas2DCompositor, createCanvas2DCompositor } from './canvas2dCompositor.js';
export { createBackgroundProcessor, defaultRefine } from './processor.js';
export { graphicsInfo } from './graphics.js';
export type { GraphicsInfo } from './graphics.js';
export type { BackgroundProcessor, BackgroundProcessorOptions } from './processor.js';
export type { ProcessorMetrics } from './metrics.js';
export type { RoiMode } from '../core/roi.js';
export { insertableStreams } from './insertableStreams.js';
