/** Video in Node: find ffmpeg, probe files, read frames, write frames, background videos, process a file. */
export * from './ffmpegPath.js';
export * from './probe.js';
export * from './source.js';
export * from './sink.js';
export * from './videoFrameSource.js';
export * from './videoFrameSink.js';
export * from './backgroundVideo.js';
export * from './transcode.js';
