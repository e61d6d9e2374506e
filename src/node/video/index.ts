/** Video in Node: find ffmpeg, probe files, read frames, plan and write outputs, background videos, a video job and its Node renderer. */
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
export * from './keyframes.js';
export * from './segmentPlan.js';
export * from './concatSegments.js';
