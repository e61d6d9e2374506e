/// <reference lib="dom" />
/**
 * Where frames come from: a camera (getUserMedia), the sample clip the app falls back to when
 * there is no camera (drawn in the page from the bundled astronaut photo: a slow pan and zoom on a
 * canvas, captured as a track — no video file is shipped), or a video file being processed.
 */
import { errorText } from './dom.js';

export interface Source {
  kind: 'camera' | 'sample' | 'file';
  label: string;
  track: MediaStreamTrack;
  /** Releases the camera / stops the animation. */
  stop(): void;
}

export interface CameraProblem {
  code: 'camera-denied' | 'no-camera' | 'camera-busy' | 'camera-insecure' | 'camera-error';
  text: string;
}

/** The cameras the browser reports (labels appear once the page has camera permission). */
export async function listCameras(): Promise<MediaDeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === 'videoinput');
}

export async function openCamera(deviceId: string | undefined, width: number, height: number): Promise<Source> {
  if (!navigator.mediaDevices?.getUserMedia) {
    const e = new Error('this page cannot use a camera: cameras need HTTPS (or localhost)');
    e.name = 'InsecureContextError';
    throw e;
  }
  const video: MediaTrackConstraints = { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 } };
  if (deviceId) video.deviceId = { exact: deviceId };
  const stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new Error('the camera gave no video track');
  return {
    kind: 'camera',
    label: track.label || 'camera',
    track,
    stop: () => track.stop(),
  };
}

/** What to tell the user when the camera cannot be opened. */
export function describeCameraError(e: unknown): CameraProblem {
  const name = (e as { name?: string } | undefined)?.name ?? '';
  const sample = 'Showing a sample clip instead.';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return { code: 'camera-denied', text: `Camera access was denied. ${sample} To use your camera, allow it for this page (the camera icon in the address bar) and press “Try the camera again”.` };
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return { code: 'no-camera', text: `No camera was found. ${sample} Connect a camera and press “Try the camera again”.` };
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return { code: 'camera-busy', text: `The camera could not be started (another application may be using it): ${errorText(e)}. ${sample}` };
    case 'InsecureContextError':
      return { code: 'camera-insecure', text: `${errorText(e)}. ${sample}` };
    default:
      return { code: 'camera-error', text: `The camera could not be opened: ${errorText(e)}. ${sample}` };
  }
}

/**
 * The sample clip: the astronaut photo slowly panned and zoomed on a canvas at width × height,
 * captured at `fps`. Resolves once the photo is decoded and the first frame drawn.
 */
export async function startSampleClip(imageUrl: string, width = 640, height = 360, fps = 30): Promise<Source> {
  const image = new Image();
  image.src = imageUrl;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2D is not available for the sample clip');
  const iw = image.naturalWidth, ih = image.naturalHeight;
  const start = performance.now();
  const draw = (): void => {
    const t = (performance.now() - start) / 1000;
    // Cover the frame's width, then zoom between 1× and 1.2× and drift side to side and up and
    // down around the head and shoulders (the upper part of the photo).
    const zoom = 1.1 + 0.1 * Math.sin((2 * Math.PI * t) / 17);
    const scale = (width / iw) * zoom;
    const viewW = width / scale, viewH = height / scale;
    const cx = iw / 2 + Math.sin((2 * Math.PI * t) / 11) * ((iw - viewW) / 2) * 0.8;
    const cy = Math.min(ih - viewH / 2, Math.max(viewH / 2, ih * 0.36 + Math.sin((2 * Math.PI * t) / 13) * ih * 0.03));
    ctx.drawImage(image, cx - viewW / 2, cy - viewH / 2, viewW, viewH, 0, 0, width, height);
  };
  draw();
  // A timer, not requestAnimationFrame: it keeps running when the page is hidden or headless.
  const timer = setInterval(draw, 1000 / fps);
  const stream = canvas.captureStream(fps);
  const track = stream.getVideoTracks()[0];
  if (!track) {
    clearInterval(timer);
    throw new Error('canvas.captureStream gave no track');
  }
  track.contentHint = 'motion';
  return {
    kind: 'sample',
    label: 'Sample clip',
    track,
    stop: () => {
      clearInterval(timer);
      track.stop();
    },
  };
}

/** A video file played in a hidden <video> and captured as tracks (video, and audio when it has some). */
export async function openVideoFile(file: Blob, name: string): Promise<{ source: Source; video: HTMLVideoElement; audio: MediaStreamTrack[] }> {
  const url = URL.createObjectURL(file);
  const video = document.createElement('video');
  video.src = url;
  video.playsInline = true;
  video.preload = 'auto';
  try {
    await new Promise<void>((resolve, reject) => {
      video.addEventListener('loadeddata', () => resolve(), { once: true });
      video.addEventListener('error', () => reject(new Error(`this browser cannot play ${name}${video.error?.message ? `: ${video.error.message}` : ''}`)), { once: true });
    });
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
  const capture = (video as HTMLVideoElement & { captureStream(): MediaStream }).captureStream();
  const track = capture.getVideoTracks()[0];
  if (!track) {
    URL.revokeObjectURL(url);
    throw new Error(`${name} has no video track`);
  }
  return {
    video,
    audio: capture.getAudioTracks(),
    source: {
      kind: 'file',
      label: name,
      track,
      stop: () => {
        video.pause();
        for (const t of capture.getTracks()) t.stop();
        video.removeAttribute('src');
        video.load();
        URL.revokeObjectURL(url);
      },
    },
  };
}
