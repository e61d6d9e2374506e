/**
 * Shared set-up of the web app's end-to-end tests (Node side): serve web/ with its own Vite config
 * (or the static build with a plain HTTP server), launch headless Chromium with a fake camera, a
 * denied camera or no camera, and read the app's state and the pixels it shows.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { testdata } from '../helpers/testdata.js';
import { baseArgs, bytesFrom64, chromiumPath, ffmpegPath, isolationHeaders, repoRoot, sampleVideo } from '../browser/chromium.js';

const run = promisify(execFile);

export { chromiumPath, repoRoot, warnSkipped } from '../browser/chromium.js';

/** The app on the Vite dev server (web/vite.config.ts: COOP/COEP headers), 127.0.0.1, random port. */
export async function startAppServer(): Promise<{ server: ViteDevServer; url: string; close(): Promise<void> }> {
  const server = await createServer({
    configFile: join(repoRoot, 'web', 'vite.config.ts'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not report a TCP address');
  return { server, url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.tflite': 'application/octet-stream',
};

/** A bare static file server (what any static host does), with or without the isolation headers. */
export async function serveStatic(root: string, isolated: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createHttpServer((req, res) => {
    void (async () => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      let file = resolve(root, `.${path}`);
      if (!file.startsWith(resolve(root))) return void res.writeHead(403).end();
      try {
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        await stat(file);
      } catch {
        return void res.writeHead(404).end('not found');
      }
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...(isolated ? isolationHeaders : {}) });
      createReadStream(file).pipe(res);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

export type CameraMode = 'fake' | 'denied' | 'none';

export interface AppBrowser {
  context: BrowserContext;
  page: Page;
  logs: string[];
  /** The profile directory (Chromium's --user-data-dir), which identifies its processes. */
  profile: string;
  close(): Promise<void>;
}

/**
 * Headless Chromium in a fresh profile. `fake`: the fake camera (from `y4m` when given) with
 * permission granted; `denied`: a camera exists but permission prompts are denied; `none`: no
 * camera device at all.
 */
export async function launchBrowser(options: { camera?: CameraMode; y4m?: string; extraArgs?: string[] } = {}): Promise<AppBrowser> {
  if (!chromiumPath) throw new Error('no Chromium');
  const camera = options.camera ?? 'fake';
  const profile = await mkdtemp(join(tmpdir(), 'backdrop-e2e-'));
  let args = [...baseArgs, '--enable-precise-memory-info', ...(options.extraArgs ?? [])];
  if (camera === 'denied') args = args.filter((a) => a !== '--use-fake-ui-for-media-stream').concat('--deny-permission-prompts');
  if (camera === 'none') args = args.filter((a) => a !== '--use-fake-device-for-media-stream');
  if (options.y4m && camera === 'fake') args.push(`--use-file-for-fake-video-capture=${options.y4m}`);
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args, acceptDownloads: true, viewport: { width: 1280, height: 860 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  return {
    context,
    page,
    logs,
    profile,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export type AppState = {
  source: string;
  live: string;
  processed: boolean;
  effect: string;
  background: string | null;
  backgroundIndex: number;
  backgrounds: number;
  overlayVisible: boolean;
  recording: boolean;
  messages: { code: string; level: string; text: string }[];
  metrics: { fps: number; frames: number; inferences: number; inferencesPerMask: number; compositor: string; backend: string; fallbacks: string[] };
  pipeline: string | null;
  input: MediaTrackSettings | null;
  output: MediaTrackSettings | null;
  crossOriginIsolated: boolean;
  graphics: { webgl2: boolean; renderer: string; software: boolean };
  refine: string | null;
  roi: string;
};

export function appState(page: Page): Promise<AppState> {
  return page.evaluate(() => (globalThis as unknown as { backdropApp: { state(): AppState } }).backdropApp.state());
}

/** Opens the app and waits until it has started (gallery loaded, a source attached). */
export async function openApp(browser: AppBrowser, url: string): Promise<AppState> {
  await browser.page.goto(url);
  try {
    await browser.page.waitForFunction(() => (globalThis as { backdropApp?: { ready: boolean } }).backdropApp?.ready === true, undefined, { timeout: 120_000 });
  } catch (e) {
    throw new Error(`the app did not start: ${(e as Error).message}\n${browser.logs.join('\n')}`);
  }
  return appState(browser.page);
}

/** Waits until the processor has put out `n` more frames than now. */
export async function waitFrames(page: Page, n: number, timeout = 60_000): Promise<void> {
  const start = (await appState(page)).metrics.frames;
  await page.waitForFunction(
    ({ start, n }) => (globalThis as unknown as { backdropApp: { state(): AppState } }).backdropApp.state().metrics.frames >= start + n,
    { start, n },
    { timeout },
  );
}

/** The frame the app shows, RGBA. */
export async function grab(page: Page): Promise<{ width: number; height: number; data: Uint8Array }> {
  const g = await page.evaluate(() => (globalThis as unknown as { backdropApp: { grab(): Promise<{ width: number; height: number; data: string }> } }).backdropApp.grab());
  return { width: g.width, height: g.height, data: bytesFrom64(g.data) };
}

/** A fake-camera file that shows one frame of the shared clip (at `time` s) for `seconds`: every camera frame is the same picture. */
export async function makeStillY4m(dir: string, time: number, width = 640, height = 360, fps = 30, seconds = 2): Promise<string> {
  const out = join(dir, `still-${width}x${height}.y4m`);
  await run(await ffmpegPath(), [
    '-v', 'error', '-y', '-ss', String(time), '-i', testdata(sampleVideo), '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'image2pipe', '-c:v', 'png', join(dir, 'still.png'),
  ]);
  await run(await ffmpegPath(), ['-v', 'error', '-y', '-loop', '1', '-framerate', String(fps), '-i', join(dir, 'still.png'), '-t', String(seconds), '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** FFPROBE_PATH, else Debian's /usr/bin/ffprobe (the npm ffmpeg binary has no ffprobe); undefined when neither exists. */
export const ffprobePath = [process.env.FFPROBE_PATH, '/usr/bin/ffprobe'].find((p): p is string => !!p && existsSync(p));

/** Prints a loud line for tests that need ffprobe when there is none. */
export function warnNoFfprobe(what: string): void {
  if (!ffprobePath) console.warn(`SKIPPED: ${what} needs ffprobe (Debian's \`ffmpeg\` package, or set FFPROBE_PATH)`);
}

/** ffprobe's view of a media file: container duration, and the first video stream's size, codec and frame count. */
export async function probe(file: string): Promise<{ duration: number; width: number; height: number; codec: string; frames: number; lastFrameTime: number }> {
  const ffprobe = ffprobePath;
  if (!ffprobe) throw new Error('no ffprobe');
  const { stdout } = await run(ffprobe, ['-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=codec_name,width,height,nb_read_frames', '-select_streams', 'v:0', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { format: { duration?: string }; streams: { codec_name: string; width: number; height: number; nb_read_frames?: string }[] };
  const { stdout: times } = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file]);
  const stamps = times.split('\n').map(Number).filter((t) => Number.isFinite(t) && t > 0);
  const s = j.streams[0];
  return {
    duration: Number(j.format.duration ?? NaN),
    width: s.width,
    height: s.height,
    codec: s.codec_name,
    frames: Number(s.nb_read_frames ?? 0),
    lastFrameTime: stamps.length ? Math.max(...stamps) : 0,
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
