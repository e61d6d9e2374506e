/** backdrop for Node: everything in the core plus files, sharp image IO and onnxruntime-node. */
export * from './core/index.js';
export { Backdrop, createBackdrop, type BackdropOptions, type CustomModel, type EncodeOptions, type FileResult, type PhotoEffect } from './node/facade.js';
export { decodeImage, encodeImage, encodeGray, ImageInputError, DEFAULT_MAX_PIXELS, type ImageFormat } from './node/imageIO.js';
export { writeFileAtomic, OutputError } from './node/safeWrite.js';
export { loadBackgroundImages, listImages } from './node/imageFolder.js';
export { defaultNodeBackend, onnxNodeBackend, onnxWasmBackend, type OnnxBackendOptions } from './node/onnxBackend.js';
export { builtinOnnx, builtinModelPath, loadBuiltinModel } from './node/models.js';
export { samplePhoto, sampleBackground } from './node/packageRoot.js';
