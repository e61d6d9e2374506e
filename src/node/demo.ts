/**
 * The demo: `npm start` in a checkout, `node node_modules/selfie-backdrop/dist/node/demo.js` where
 * the package is installed. Runs backdrop on the photo the package ships with each effect, writes
 * the results to out/demo/ in the current folder (never into the package) and says where they are.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { installPlace } from './nativeRuntimeFix.js';
import { samplePhoto as photo, sampleBackground } from './packageRoot.js';
import type { PhotoEffect } from './facade.js';
import { createBackdrop } from './facade.js';

const outDir = resolve('out', 'demo');

const runs: { name: string; effect: PhotoEffect; file: string }[] = [
  { name: 'blurred background', effect: { type: 'blur', strength: 50 }, file: 'astronaut_blur.jpg' },
  { name: 'new background', effect: { type: 'image', path: sampleBackground }, file: 'astronaut_space.jpg' },
  { name: 'green screen', effect: { type: 'color', color: [0, 177, 64, 255] }, file: 'astronaut_green.jpg' },
  { name: 'cut-out', effect: { type: 'transparent' }, file: 'astronaut_cutout.png' },
  { name: 'mask', effect: { type: 'mask' }, file: 'astronaut_mask.png' },
];

// One Backdrop per effect, but a warning (the WebAssembly fallback) is worth saying once.
const warned = new Set<string>();
const onWarning = (m: string) => {
  if (!warned.has(m)) console.warn(`warning: ${m}`);
  warned.add(m);
};

await mkdir(outDir, { recursive: true });
console.log(`backdrop demo: ${relative(process.cwd(), photo)}`);
for (const run of runs) {
  const backdrop = await createBackdrop({ effect: run.effect, onWarning });
  const output = join(outDir, run.file);
  // The demo owns out/demo/, so re-running it replaces its own earlier results.
  const result = await backdrop.processFile(photo, output, { force: true });
  await backdrop.close();
  console.log(`  ${run.name.padEnd(20)} -> ${relative(process.cwd(), output)}  (${Math.round(result.timings.total)} ms)`);
}
// In a checkout npm links no `backdrop` command for the repository itself.
const help = installPlace().kind === 'checkout' ? 'npm run cli -- --help' : 'npx backdrop --help';
console.log(`\nDone. Open ${relative(process.cwd(), outDir) || '.'}/ to see the results; try \`${help}\` for your own photos.`);
