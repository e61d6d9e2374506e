/// <reference lib="dom" />
/**
 * Chromium's insertable streams for raw video (MediaStreamTrackProcessor / Generator), which the
 * TypeScript DOM library does not describe yet: minimal types and feature detection.
 */

export interface TrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}

export interface TrackGenerator extends MediaStreamTrack {
  readonly writable: WritableStream<VideoFrame>;
}

interface TrackProcessorConstructor {
  new (init: { track: MediaStreamTrack; maxBufferSize?: number }): TrackProcessor;
}

interface TrackGeneratorConstructor {
  new (init: { kind: 'video' | 'audio' }): TrackGenerator;
}

interface InsertableStreams {
  Processor: TrackProcessorConstructor;
  Generator: TrackGeneratorConstructor;
}

/** The constructors when this page has both (and VideoFrame), else undefined. */
export function insertableStreams(): InsertableStreams | undefined {
  const g = globalThis as unknown as {
    MediaStreamTrackProcessor?: TrackProcessorConstructor;
    MediaStreamTrackGenerator?: TrackGeneratorConstructor;
    VideoFrame?: unknown;
  };
  if (!g.MediaStreamTrackProcessor || !g.MediaStreamTrackGenerator || !g.VideoFrame) return undefined;
  return { Processor: g.MediaStreamTrackProcessor, Generator: g.MediaStreamTrackGenerator };
}
