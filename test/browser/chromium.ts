/**
 * Shared set-up of the browser tests (Node side): find Chromium, serve the harness page with Vite
 * (cross-origin isolated, so onnxruntime-web may use threads), launch headless Chromium with a fake
 * camera, and make the fake camera's .y4m from a shared test video.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { testdata } from '../helpers/testdata.js';
import type { Harness } from './harness.js';

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** CHROMIUM_PATH, else Debian's /usr/bin/chromium; undefined when neither exists. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p));
}

export const chromiumPath = findChromium();

/** Prints the loud line `npm test` promises when there is no browser to test in. */
export function warnSkipped(what: string): void {
  if (!chromiumPath) {
    console.warn(`SKIPPED: browser tests need Chromium (${what}): install Debian's \`chromium\` or set CHROMIUM_PATH`);
  }
}

/** The headers that make the page cross-origin isolated (SharedArrayBuffer → wasm threads). */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Vite dev server for the harness page, on 127.0.0.1 with a random port. */
export async function startHarnessServer(options: { isolated?: boolean } = {}): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: false,
    root: repoRoot,
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      hmr: false,
      watch: null,
      headers: options.isolated === false ? {} : isolationHeaders,
    },
    optimizeDeps: {
      // Pre-bundle the CommonJS dependencies of the core converter at start-up, so the page never
      // reloads mid-test; onnxruntime-web is ESM and finds its own .wasm/.mjs files.
      entries: ['test/browser/harness.html'],
      include: ['onnx-proto', 'flatbuffers'],
      exclude: ['onnxruntime-web'],
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite did not report a TCP address');
  return { server, url: `http://127.0.0.1:${address.port}/test/browser/harness.html` };
}

export const baseArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium in a fresh profile, with the harness page loaded and ready. */
export async function launchHarness(url: string, options: { y4m?: string; extraArgs?: string[] } = {}): Promise<Browser> {
  if (!chromiumPath) throw new Error('no Chromium');
  const profile = await mkdtemp(join(tmpdir(), 'backdrop-chromium-'));
  const args = [...baseArgs, ...(options.extraArgs ?? [])];
  if (options.y4m) args.push(`--use-file-for-fake-video-capture=${options.y4m}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.goto(url);
  try {
    await page.waitForFunction(() => (globalThis as { harnessReady?: boolean }).harnessReady === true, undefined, { timeout: 60_000 });
  } catch (e) {
    throw new Error(`harness page did not load: ${(e as Error).message}\n${logs.join('\n')}`);
  }
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The ffmpeg to use: the system one, else the binary from @ffmpeg-installer/ffmpeg. */
export async function ffmpegPath(): Promise<string> {
  if (existsSync('/usr/bin/ffmpeg')) return '/usr/bin/ffmpeg';
  const mod = (await import('@ffmpeg-installer/ffmpeg')) as { default?: { path: string }; path?: string };
  const path = mod.default?.path ?? mod.path;
  if (!path) throw new Error('no ffmpeg found');
  return path;
}

/** The shared 640×360 talking-head clip, as the raw fake-camera file Chromium reads. */
export const sampleVideo = 'volcomix-virtual-background/public/videos/Thoughtful - 35590.mp4';

/** Makes `seconds` of a shared test video into a .y4m (640×360, yuv420p, its own frame rate) in `dir`. */
export async function makeY4m(dir: string, seconds = 3, width = 640, height = 360, fps?: number): Promise<string> {
  const out = join(dir, `camera-${width}x${height}.y4m`);
  const filters = [`scale=${width}:${height}`];
  if (fps) filters.push(`fps=${fps}`);
  await run(await ffmpegPath(), ['-v', 'error', '-y', '-i', testdata(sampleVideo), '-t', String(seconds), '-vf', filters.join(','), '-pix_fmt', 'yuv420p', out]);
  return out;
}

/** One RGB frame of the shared clip at `time` seconds, width × height, as raw bytes. */
export async function grabRgbFrame(time: number, width: number, height: number): Promise<Uint8Array> {
  const { stdout } = await run(
    await ffmpegPath(),
    ['-v', 'error', '-ss', String(time), '-i', testdata(sampleVideo), '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  const bytes = new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  if (bytes.length !== width * height * 3) throw new Error(`ffmpeg gave ${bytes.length} bytes, expected ${width * height * 3}`);
  return bytes;
}

/** Calls a harness function in the page with serialisable arguments and returns its result. */
export function callHarness<K extends keyof Harness>(page: Page, name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return page.evaluate(
    ({ name, args }) => {
      const h = (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness;
      return h[name](...args);
    },
    { name, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function bytesFrom64(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function floatsFrom64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
