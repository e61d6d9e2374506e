/**
 * `npm start`: the demo. Runs backdrop on the bundled public-domain photo with each effect and
 * prints where the results are.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhotoEffect } from './facade.js';
import { createBackdrop } from './facade.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const photo = join(root, 'assets', 'astronaut.png');
const outDir = join(root, 'out', 'demo');

const runs: { name: string; effect: PhotoEffect; file: string }[] = [
  { name: 'blurred background', effect: { type: 'blur', strength: 50 }, file: 'astronaut_blur.jpg' },
  { name: 'new background', effect: { type: 'image', path: join(root, 'assets', 'hubble_deep_field.jpg') }, file: 'astronaut_space.jpg' },
  { name: 'green screen', effect: { type: 'color', color: [0, 177, 64, 255] }, file: 'astronaut_green.jpg' },
  { name: 'cut-out', effect: { type: 'transparent' }, file: 'astronaut_cutout.png' },
  { name: 'mask', effect: { type: 'mask' }, file: 'astronaut_mask.png' },
];

await mkdir(outDir, { recursive: true });
console.log(`backdrop demo: ${relative(process.cwd(), photo)}`);
for (const run of runs) {
  const backdrop = await createBackdrop({ effect: run.effect });
  const output = join(outDir, run.file);
  // The demo owns out/demo/, so re-running it replaces its own earlier results.
  const result = await backdrop.processFile(photo, output, { force: true });
  await backdrop.close();
  console.log(`  ${run.name.padEnd(20)} -> ${relative(process.cwd(), output)}  (${Math.round(result.timings.total)} ms)`);
}
console.log(`\nDone. Open ${relative(process.cwd(), outDir) || '.'}/ to see the results; try \`npx backdrop --help\` for your own photos.`);
