/** Video in Node: find ffmpeg, probe files, read frames, write frames, process a file. */
export * from './ffmpegPath.js';
export * from './probe.js';
export * from './source.js';
export * from './sink.js';
export * from './framePipeline.js';
export * from './transcode.js';
