/// <reference lib="dom" />
/**
 * The backdrop web app: a live camera (or the sample clip when there is none) through
 * createBackgroundProcessor, with the settings panel, the background gallery, the FPS overlay,
 * recording, and photos / videos dropped on the page processed in the browser.
 *
 * Nothing runs when this module is imported (in a build, onnxruntime-web's worker loads the chunk
 * that holds it): main.ts calls startApp() when there is a document.
 */
import astronautUrl from '../assets/astronaut.png?url';
import {
  createBackgroundProcessor,
  createSegmenter,
  graphicsInfo,
  mergeOptions,
  DEFAULT_COMPOSITOR_OPTIONS,
  ortWebBackend,
  type BackgroundProcessor,
} from '../src/browser/index.js';
import type { BuiltinModel } from '../src/core/modelSpec.js';
import type { Segmenter } from '../src/core/segmenter.js';
import { backgroundFromBlob, builtinBackgrounds } from './backgrounds.js';
import { compositorOptions, Controls, edgeMode, processorOptions, type SettingName } from './controls.js';
import { $, el, errorText, sentence } from './dom.js';
import { Gallery } from './gallery.js';
import { Messages } from './messages.js';
import { overlayText } from './overlay.js';
import { processPhoto } from './photo.js';
import { Recorder } from './recorder.js';
import { addResult, formatDuration, stampedName } from './results.js';
import { describeCameraError, listCameras, openCamera, openVideoFile, startSampleClip, type Source } from './sources.js';

export function startApp(): void {
  const ui = {
    view: $('#view', HTMLVideoElement),
    overlay: $('#overlay', HTMLPreElement),
    badge: $('#source-badge', HTMLDivElement),
    loading: $('#loading', HTMLDivElement),
    camera: $('#camera', HTMLSelectElement),
    resolution: $('#resolution', HTMLSelectElement),
    resolutionNote: $('#resolution-note', HTMLParagraphElement),
    cameraRetry: $('#camera-retry', HTMLButtonElement),
    record: $('#record', HTMLButtonElement),
    recordTime: $('#record-time', HTMLSpanElement),
    snapshot: $('#snapshot', HTMLButtonElement),
    stats: $('#stats', HTMLButtonElement),
    profile: $('#profile', HTMLInputElement),
    file: $('#file', HTMLInputElement),
    upload: $('#upload', HTMLInputElement),
    status: $('#status', HTMLElement),
    dropzone: $('#dropzone', HTMLDivElement),
  };

  const messages = new Messages($('#messages', HTMLDivElement));
  const gallery = new Gallery($('#gallery', HTMLDivElement));
  const controls = new Controls();

  const graphics = graphicsInfo();
  const autoEdges = edgeMode('auto', graphics.software);
  $('#edges option[value="auto"]', HTMLOptionElement).textContent = `auto: ${autoEdges === 'bilinear' ? 'fast (software graphics)' : 'detailed'}`;
  const options = () => processorOptions(controls.settings, gallery.selected?.image, graphics.software);
  const processor: BackgroundProcessor = createBackgroundProcessor(options());
  let model: BuiltinModel = controls.settings.model;

  /** The camera or the sample clip: what the app returns to after processing a file. */
  let live: Source | undefined;
  /** What the processor is working on now (live, or a video file). */
  let active: Source | undefined;
  /** True when the view shows the processor's output, false when it shows the raw source (model failed). */
  let processed = false;
  let recorder: Recorder | undefined;
  let fileBusy = false;
  const reported = new Set<string>();

  // ---------------------------------------------------------------- sources and the processor

  let attaching: Promise<void> = Promise.resolve();

  /** Points the processor at `source` and shows its output (or the raw source when the model cannot load). */
  function attach(source: Source): Promise<void> {
    attaching = attaching.then(() => attachNow(source)).catch((e: unknown) => console.error('backdrop app:', e));
    return attaching;
  }

  async function attachNow(source: Source): Promise<void> {
    active = source;
    ui.loading.hidden = false;
    ui.loading.textContent = processor.compositor ? 'Switching…' : 'Loading the segmentation model…';
    try {
      const output = await processor.process(source.track);
      if (active !== source) return;
      ui.view.srcObject = new MediaStream([output]);
      processed = true;
      messages.clear('model-failed');
    } catch (e) {
      if (active !== source) return;
      ui.view.srcObject = new MediaStream([source.track]);
      processed = false;
      const what = source.kind === 'camera' ? 'camera' : source.kind === 'sample' ? 'sample clip' : 'video';
      messages.show('model-failed', 'error', `${sentence(errorText(e))}. Showing the ${what} without effects.`, [{ label: 'Retry', run: () => void attach(source) }]);
    } finally {
      ui.loading.hidden = true;
    }
    await ui.view.play().catch(() => undefined);
    reportFallbacks();
    updateBadge();
  }

  function updateBadge(): void {
    const kind = active?.kind;
    ui.badge.hidden = kind === 'camera' || kind === undefined;
    ui.badge.textContent = kind === 'sample' ? 'Sample clip' : kind === 'file' ? `Processing ${active?.label ?? 'video'}` : '';
    ui.badge.dataset.source = kind ?? '';
  }

  /** Shows each fallback the processor reports (no WebGL2, no WebGPU…) once. */
  function reportFallbacks(): void {
    for (const reason of processor.getMetrics().fallbacks) {
      if (reported.has(reason)) continue;
      reported.add(reason);
      if (/canvas 2D instead of WebGL2/.test(reason)) {
        const detail = reason.replace(/^canvas 2D instead of WebGL2: /, '');
        const why = /^WebGL2 is not available\.?$/.test(detail) ? ' (turned off, or blocked for this graphics driver)' : ` (${detail})`;
        messages.show('webgl-missing', 'warning', `WebGL2 is not available here${why}, so effects are drawn with the slower canvas-2D fallback.`);
      } else {
        messages.show(`fallback-${reported.size}`, 'info', reason);
      }
    }
  }

  const CAMERA_CODES = ['camera-denied', 'no-camera', 'camera-busy', 'camera-insecure', 'camera-error', 'camera-ended'] as const;

  /** The size asked of the camera: the Resolution box's choice (the box itself shows what the camera gives). */
  let requested = parseSize(ui.resolution.value);

  function resolution(): [number, number] {
    return requested;
  }

  function parseSize(value: string): [number, number] {
    const [w, h] = value.split('x').map(Number);
    return [w || 1280, h || 720];
  }

  /**
   * Shows in the Resolution box the size the camera actually delivers (a camera may ignore the
   * request: it offers only some sizes), and says so under it when it differs from the request.
   */
  function showCameraSize(track: MediaStreamTrack | undefined): void {
    ui.resolution.querySelector('option[data-camera]')?.remove();
    const { width, height } = track?.getSettings() ?? {};
    const [w, h] = requested;
    if (!width || !height) {
      ui.resolution.value = `${w}x${h}`;
      ui.resolutionNote.hidden = true;
      return;
    }
    const value = `${width}x${height}`;
    if (!Array.from(ui.resolution.options).some((o) => o.value === value)) {
      const option = el('option', { value, textContent: `${width} × ${height}` });
      option.dataset.camera = '';
      ui.resolution.append(option);
    }
    ui.resolution.value = value;
    const ignored = width !== w || height !== h;
    ui.resolutionNote.hidden = !ignored;
    ui.resolutionNote.textContent = ignored ? `The camera gives ${width} × ${height}: it does not offer the ${w} × ${h} asked for.` : '';
  }

  /** Starts the camera `deviceId` (default: any), or the sample clip. Initially a camera that fails falls back to the sample clip. */
  async function startLive(choice: string | undefined, fallBackToSample: boolean): Promise<void> {
    let next: Source;
    if (choice === 'sample') {
      next = await startSampleClip(astronautUrl);
    } else {
      try {
        next = await openCamera(choice, ...resolution());
        for (const code of CAMERA_CODES) messages.clear(code);
        ui.cameraRetry.hidden = true;
      } catch (e) {
        const problem = describeCameraError(e);
        if (!fallBackToSample && live) {
          messages.show(problem.code, 'error', problem.text.replace(/Showing a sample clip instead\.\s*/, `Still showing the ${live.kind === 'sample' ? 'sample clip' : 'previous camera'}. `));
          await refreshCameraList();
          return;
        }
        messages.show(problem.code, problem.code === 'no-camera' ? 'warning' : 'error', problem.text);
        ui.cameraRetry.hidden = false;
        if (live?.kind === 'sample') return;
        next = await startSampleClip(astronautUrl);
      }
    }
    const previous = live;
    live = next;
    showCameraSize(next.kind === 'camera' ? next.track : undefined);
    if (next.kind === 'camera') {
      const started = next;
      // A camera that goes away (unplugged, taken by another application) leaves the sample clip on.
      next.track.addEventListener('ended', () => {
        if (live !== started) return;
        messages.show('camera-ended', 'warning', 'The camera stopped (unplugged, or taken by another application). Showing a sample clip instead.');
        ui.cameraRetry.hidden = false;
        void startLive('sample', true);
      }, { once: true });
    }
    if (!fileBusy) await attach(next);
    if (previous && previous !== next) previous.stop();
    await refreshCameraList();
  }

  async function refreshCameraList(): Promise<void> {
    const cameras = await listCameras().catch(() => []);
    const current = live?.kind === 'sample' ? 'sample' : live?.track.getSettings().deviceId;
    const options = cameras.map((c, i) => el('option', { value: c.deviceId, textContent: c.label || `Camera ${i + 1}` }));
    options.push(el('option', { value: 'sample', textContent: 'Sample clip (no camera)' }));
    ui.camera.replaceChildren(...options);
    if (current && options.some((o) => o.value === current)) ui.camera.value = current;
  }

  // ---------------------------------------------------------------- settings

  function applySettings(changed: SettingName): void {
    if (changed === 'model') {
      void changeModel(controls.settings.model);
      return;
    }
    try {
      processor.setOptions(options());
      messages.clear('settings');
    } catch (e) {
      messages.show('settings', 'error', `That setting was refused: ${errorText(e)}`);
    }
  }

  async function changeModel(next: BuiltinModel): Promise<void> {
    const previous = model;
    if (next === previous) return;
    messages.show('model-loading', 'info', `Loading the ${next} model…`);
    processor.setOptions({ model: next });
    try {
      await processor.load();
      model = next;
      photoSegmenter = undefined;
      messages.clear('model-loading');
      messages.clear('model-failed');
    } catch (e) {
      messages.clear('model-loading');
      messages.show('model-failed', 'error', `${sentence(errorText(e))}. Still using the ${previous} model.`);
      controls.setModel(previous);
      processor.setOptions({ model: previous });
    }
  }

  controls.onChange(applySettings);
  gallery.onSelect(() => {
    if (controls.settings.effect !== 'image') controls.setEffect('image');
    else applySettings('effect');
  });

  // ---------------------------------------------------------------- overlay and status

  function toggleOverlay(): void {
    ui.overlay.hidden = !ui.overlay.hidden;
    ui.stats.setAttribute('aria-pressed', String(!ui.overlay.hidden));
  }

  function statusLine(): string {
    const m = processor.getMetrics();
    const threads = crossOriginIsolated
      ? 'cross-origin isolated (WebAssembly threads available)'
      : 'not cross-origin isolated: the model runs single-threaded (serve with COOP same-origin + COEP require-corp for threads)';
    const gpu = graphics.webgl2 ? `${graphics.renderer}${graphics.software ? ' (software)' : ''}` : 'no WebGL2';
    return `${m.compositor === 'none' ? 'starting' : m.compositor} on ${gpu} · ${m.backend} · ${processor.pipeline ?? '–'} · ${threads}`;
  }

  function contextLost(): boolean {
    const c = processor.compositor;
    if (c?.kind !== 'webgl2') return false;
    const gl = (c.canvas as OffscreenCanvas).getContext('webgl2') as WebGL2RenderingContext | null;
    return gl?.isContextLost() ?? false;
  }

  setInterval(() => {
    const v = ui.view;
    if (!ui.overlay.hidden) {
      ui.overlay.textContent = overlayText({ metrics: processor.getMetrics(), width: v.videoWidth, height: v.videoHeight, stages: ui.profile.checked || processor.compositor?.kind === 'canvas2d' ? processor.compositor?.times : undefined, processed });
    }
    ui.status.textContent = statusLine();
    if (recorder) ui.recordTime.textContent = formatDuration(recorder.elapsedMs);
    // The GPU may drop the WebGL context (driver reset, too many contexts): start again with a new one.
    if (processed && active && contextLost()) {
      messages.show('webgl-lost', 'warning', 'The graphics context was lost; the effect was restarted.');
      void attach(active);
    }
  }, 500);

  // ---------------------------------------------------------------- keys

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t instanceof HTMLInputElement && !['range', 'radio', 'checkbox', 'button'].includes(t.type)))) return;
    const key = e.key.toLowerCase();
    if (key === 'a') gallery.previous();
    else if (key === 'd') gallery.next();
    else if (key === 'f') toggleOverlay();
    else return;
    e.preventDefault();
  });

  // ---------------------------------------------------------------- recording

  async function toggleRecording(): Promise<void> {
    if (recorder) {
      const r = recorder;
      recorder = undefined;
      ui.record.textContent = '● Record';
      ui.record.classList.remove('recording');
      ui.recordTime.hidden = true;
      ui.file.disabled = false;
      try {
        const result = await r.stop();
        addResult('video', `Recording, ${formatDuration(result.durationMs)}`, [{ blob: result.blob, filename: stampedName('recording', 'webm'), label: 'WebM' }]);
      } catch (e) {
        messages.show('recording', 'error', errorText(e));
      }
      return;
    }
    const stream = ui.view.srcObject;
    if (!(stream instanceof MediaStream) || !stream.getVideoTracks().length) {
      messages.show('recording', 'error', 'Nothing to record yet.');
      return;
    }
    try {
      recorder = new Recorder(new MediaStream(stream.getVideoTracks()));
    } catch (e) {
      messages.show('recording', 'error', errorText(e));
      return;
    }
    messages.clear('recording');
    ui.record.textContent = '■ Stop';
    ui.record.classList.add('recording');
    ui.recordTime.hidden = false;
    ui.recordTime.textContent = '0.0 s';
    ui.file.disabled = true;
  }

  ui.record.addEventListener('click', () => void toggleRecording());

  /** The frame the view shows now, as RGBA pixels (waits for a new frame to be presented). */
  async function grabFrame(): Promise<ImageData> {
    const v = ui.view;
    if (!v.videoWidth) throw new Error('no video yet');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      v.requestVideoFrameCallback(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(v, 0, 0);
    return ctx.getImageData(0, 0, canvas.width, canvas.height);
  }

  ui.snapshot.addEventListener('click', () => {
    void (async () => {
      try {
        const frame = await grabFrame();
        const canvas = el('canvas', { width: frame.width, height: frame.height });
        canvas.getContext('2d')!.putImageData(frame, 0, 0);
        const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
        if (blob) addResult('image', `Snapshot ${frame.width}×${frame.height}`, [{ blob, filename: stampedName('snapshot', 'png'), label: 'PNG' }]);
      } catch (e) {
        messages.show('snapshot', 'error', `Snapshot failed: ${errorText(e)}`);
      }
    })();
  });

  // ---------------------------------------------------------------- photos and videos from files

  let photoSegmenter: Promise<Segmenter> | undefined;

  function segmenterForPhotos(): Promise<Segmenter> {
    photoSegmenter ??= ortWebBackend({ proxy: true }).then((b) => createSegmenter(b, model));
    photoSegmenter.catch(() => (photoSegmenter = undefined));
    return photoSegmenter;
  }

  async function processPhotoFile(file: File): Promise<void> {
    messages.show('file', 'info', `Processing ${file.name}…`);
    try {
      const photoOptions = mergeOptions(DEFAULT_COMPOSITOR_OPTIONS, compositorOptions(controls.settings, gallery.selected?.image, graphics.software));
      const result = await processPhoto(file, file.name, photoOptions, await segmenterForPhotos(), controls.settings.roi);
      const base = file.name.replace(/\.[^.]*$/, '') || 'photo';
      addResult('image', `${file.name} → ${controls.settings.effect}, ${result.width}×${result.height}`, [
        { blob: result.png, filename: `${base}_backdrop.png`, label: 'PNG' },
        { blob: result.jpeg, filename: `${base}_backdrop.jpg`, label: 'JPEG' },
      ]);
      messages.clear('file');
    } catch (e) {
      messages.show('file', 'error', `Could not process ${file.name}: ${errorText(e)}`);
    }
  }

  async function processVideoFile(file: File): Promise<void> {
    if (fileBusy || recorder) {
      messages.show('file', 'warning', 'Finish the current recording or video first.');
      return;
    }
    fileBusy = true;
    ui.record.disabled = true;
    ui.file.disabled = true;
    let opened: Awaited<ReturnType<typeof openVideoFile>> | undefined;
    try {
      opened = await openVideoFile(file, file.name);
      const { source, video, audio } = opened;
      video.muted = true;
      await attach(source);
      const shown = ui.view.srcObject;
      if (!(shown instanceof MediaStream)) throw new Error('no output to record');
      const rec = new Recorder(new MediaStream([...shown.getVideoTracks(), ...audio]));
      let cancelled = false;
      const progress = (): void => {
        const pct = video.duration ? Math.round((100 * video.currentTime) / video.duration) : 0;
        messages.show('file', 'info', `Processing ${file.name}: ${pct} % (plays in real time)`, [{ label: 'Cancel', run: () => { cancelled = true; video.pause(); video.dispatchEvent(new Event('ended')); } }]);
      };
      progress();
      video.addEventListener('timeupdate', progress);
      const ended = new Promise<void>((resolve) => video.addEventListener('ended', () => resolve(), { once: true }));
      await video.play();
      await ended;
      video.removeEventListener('timeupdate', progress);
      // The last frames are still in flight through the processor.
      await new Promise((r) => setTimeout(r, 200));
      const result = await rec.stop();
      if (cancelled) {
        messages.show('file', 'info', `Stopped processing ${file.name}.`);
      } else {
        const base = file.name.replace(/\.[^.]*$/, '') || 'video';
        addResult('video', `${file.name} → ${controls.settings.effect}, ${formatDuration(result.durationMs)}`, [{ blob: result.blob, filename: `${base}_backdrop.webm`, label: 'WebM' }]);
        messages.clear('file');
      }
    } catch (e) {
      messages.show('file', 'error', `Could not process ${file.name}: ${errorText(e)}`);
    } finally {
      fileBusy = false;
      ui.record.disabled = false;
      ui.file.disabled = false;
      if (live) await attach(live);
      opened?.source.stop();
    }
  }

  function handleFile(file: File): void {
    if (file.type.startsWith('image/')) void processPhotoFile(file);
    else if (file.type.startsWith('video/') || /\.(webm|mp4|mov|mkv|ogv)$/i.test(file.name)) void processVideoFile(file);
    else messages.show('file', 'error', `${file.name} is neither a photo nor a video.`);
  }

  ui.file.addEventListener('change', () => {
    const file = ui.file.files?.[0];
    if (file) handleFile(file);
    ui.file.value = '';
  });

  ui.upload.addEventListener('change', () => {
    const files = Array.from(ui.upload.files ?? []);
    ui.upload.value = '';
    void (async () => {
      for (const file of files) {
        try {
          gallery.add([await backgroundFromBlob(file, file.name, 'your upload')], true);
          messages.clear('upload');
        } catch (e) {
          messages.show('upload', 'error', errorText(e));
        }
      }
    })();
  });

  let dragDepth = 0;
  document.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    dragDepth++;
    ui.dropzone.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) ui.dropzone.hidden = true;
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0;
    ui.dropzone.hidden = true;
    const file = e.dataTransfer?.files[0];
    if (file) handleFile(file);
  });

  // ---------------------------------------------------------------- the rest of the controls

  ui.stats.addEventListener('click', toggleOverlay);
  ui.profile.addEventListener('change', () => processor.setOptions({ profile: ui.profile.checked }));
  ui.camera.addEventListener('change', () => void startLive(ui.camera.value, false));
  ui.resolution.addEventListener('change', () => {
    requested = parseSize(ui.resolution.value);
    if (live?.kind === 'camera') void startLive(live.track.getSettings().deviceId, false);
  });
  ui.cameraRetry.addEventListener('click', () => void startLive(undefined, false));
  navigator.mediaDevices?.addEventListener?.('devicechange', () => void refreshCameraList());

  // ---------------------------------------------------------------- start

  /** For tests and debugging: the app's state, and the frame on screen as base64 RGBA. */
  const debug = {
    state() {
      const shown = ui.view.srcObject instanceof MediaStream ? ui.view.srcObject.getVideoTracks()[0] : undefined;
      return {
        source: active?.kind ?? 'none',
        live: live?.kind ?? 'none',
        processed,
        effect: controls.settings.effect,
        background: gallery.selected?.name ?? null,
        backgroundIndex: gallery.selectedIndex,
        backgrounds: gallery.size,
        overlayVisible: !ui.overlay.hidden,
        recording: recorder !== undefined,
        messages: messages.list(),
        metrics: processor.getMetrics(),
        pipeline: processor.pipeline ?? null,
        input: active?.track.getSettings() ?? null,
        output: shown?.getSettings() ?? null,
        crossOriginIsolated,
        graphics,
        refine: processor.compositor?.options.refine ?? null,
        roi: controls.settings.roi,
      };
    },
    async grab() {
      const frame = await grabFrame();
      const bytes = new Uint8Array(frame.data.buffer);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { width: frame.width, height: frame.height, data: btoa(s) };
    },
    /** Simulates a GPU reset. */
    loseContext() {
      const c = processor.compositor;
      if (c?.kind !== 'webgl2') return false;
      const gl = (c.canvas as OffscreenCanvas).getContext('webgl2') as WebGL2RenderingContext | null;
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
      return true;
    },
    /** The track being processed and the track on screen (for tests that read their frames). */
    tracks() {
      const shown = ui.view.srcObject instanceof MediaStream ? ui.view.srcObject.getVideoTracks()[0] : undefined;
      return { input: active?.track, output: shown };
    },
    processor,
    ready: false,
  };
  Object.assign(globalThis, { backdropApp: debug });

  async function main(): Promise<void> {
    ui.overlay.textContent = 'starting…';
    const backgrounds = builtinBackgrounds((e) => messages.show('gallery', 'warning', `A background could not be loaded: ${errorText(e)}`)).then((items) => {
      gallery.add(items);
      if (controls.settings.effect === 'image') applySettings('effect');
    });
    await startLive(undefined, true);
    await backgrounds;
    debug.ready = true;
  }

  void main();
}
