/** Video in Node: find ffmpeg, probe files, read frames, write frames, background videos, process a file. */
export * from './ffmpegPath.js';
export * from './probe.js';
export * from './source.js';
export * from './sinkPlan.js';
export * from './sink.js';
export * from './videoFrameSource.js';
export * from './videoFrameSink.js';
export * from './backgroundVideo.js';
export * from './point.js';
export * from './tools.js';
export * from './job.js';
export * from './renderer.js';
export * from './nodeRenderer.js';
export * from './ffmpegRenderer.js';
export * from './ffmpegGraph.js';
export * from './framePacking.js';
