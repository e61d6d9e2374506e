/** Live cameras on Node: inputs, the preview page, keys, the live loop, and the CLI entry points. */
export * from './cameraInput.js';
export * from './keys.js';
export * from './previewServer.js';
export * from './runLive.js';
export * from './liveCli.js';
