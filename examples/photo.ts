import { mkdir, readFile } from 'node:fs/promises';
import { createBackdrop, decodeImage, samplePhoto } from 'selfie-backdrop';

const out = process.argv[2] ?? 'out/example';
await mkdir(out, { recursive: true });

// Create once (the model is converted and loaded here), process many.
const backdrop = await createBackdrop({ effect: { type: 'blur', strength: 60 } });

// Files in, files out: written atomically, never over an input. samplePhoto is the demo photo
// the package ships (public domain); give any image's path instead.
const result = await backdrop.processFile(samplePhoto, `${out}/blurred.png`, { force: true });
console.log(`${result.output}: ${result.width}×${result.height} in ${Math.round(result.timings.total)} ms`);

// Buffers in, buffers out.
const webp = await backdrop.processBuffer(await readFile(samplePhoto), { format: 'webp' });
console.log(`WebP buffer: ${webp.length} bytes`);

// Raw pixels in, raw pixels and a mask out: RGB or RGBA, 8 bits per channel.
const { frame } = await decodeImage(samplePhoto); // { width, height, channels: 3, data }
const mask = await backdrop.mask(frame); // Float32Array, 1 = person
const blurred = await backdrop.processFrame(frame); // same size and channels as the input
const person = mask.data.filter((p) => p > 0.5).length / mask.data.length;
console.log(`person covers ${(100 * person).toFixed(1)} % of the frame; output ${blurred.width}×${blurred.height}×${blurred.channels}`);

await backdrop.close();
