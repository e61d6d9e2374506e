/**
 * The web app's Vite config (`npm run web`, `npm run build:web`). The app lives in web/, the
 * library it uses in src/browser/, the sample pictures in assets/: all served or bundled locally —
 * nothing is fetched from a CDN.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Cross-origin isolation: lets onnxruntime-web use WebAssembly threads (SharedArrayBuffer). */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: webRoot,
  // Relative URLs: the build works from any folder of any static host.
  base: './',
  clearScreen: false,
  // Its own dependency cache: the browser tests' and the bench's dev servers pre-bundle a different
  // set, and servers running at the same time must not rewrite each other's.
  cacheDir: fileURLToPath(new URL('../node_modules/.vite-web', import.meta.url)),
  server: {
    headers: isolationHeaders,
    // The app imports ../src and ../assets, and the models and runtime from node_modules.
    fs: { allow: [repoRoot] },
  },
  preview: { headers: isolationHeaders },
  optimizeDeps: {
    entries: ['index.html'],
    // The core converter's CommonJS dependencies are pre-bundled at start-up (no reload mid-session);
    // onnxruntime-web is ESM and finds its own .wasm/.mjs next to it, so it is left alone.
    include: ['onnx-proto', 'flatbuffers'],
    exclude: ['onnxruntime-web'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Models and WebAssembly stay files (never inlined as data: URLs).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
    // onnxruntime-web starts its proxy worker from its own chunk's URL, and that chunk imports the
    // bundler's shared helpers from the entry chunk: so the entry chunk must be safe to load in a
    // worker (main.ts only imports the app when there is a document; no modulepreload polyfill,
    // which touches the document — browsers that run this app have modulepreload anyway).
    modulePreload: { polyfill: false },
    // Rolldown's note on slow plugins is noise on a loaded machine.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es' },
});
