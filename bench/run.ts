/**
 * `npm run bench`: speed tables, measured in one run on this machine. `npm run bench -- photos` or
 * `-- video` runs one part; `-- runtime` compares the WebAssembly fallback with onnxruntime-node
 * (only when asked for). `npm run bench -- live [--minutes 10] [--size 1280x720]` runs the live
 * memory bench (a long session, so only when asked for). `npm run bench -- serve [--seconds 8]
 * [--rss-minutes 5]` loads `backdrop serve` over HTTP, and `-- scale` the scale-out on Redis with 1
 * and 2 workers (bench/scale.ts; both only when asked for). `npm run bench --
 * node [threads]`: the Node process's CPU per 720p video frame, stage by stage (bench/node.ts).
 */
import { cpus, loadavg } from 'node:os';
import { benchLive } from './live.js';
import { benchNode } from './node.js';
import { benchPhotos } from './photos.js';
import { benchRuntime } from './runtime.js';
import { benchScale } from './scale.js';
import { benchServe } from './serve.js';
import { benchVideo } from './video.js';

const only = process.argv[2];
console.log(`backdrop bench — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`);
if (!only || only === 'photos') await benchPhotos();
if (!only || only === 'video') await benchVideo();
if (only === 'runtime') await benchRuntime();
if (only === 'live') await benchLive(process.argv.slice(3));
else if (only === 'serve') await benchServe(process.argv.slice(3));
else if (only === 'scale') await benchScale(process.argv.slice(3));
else if (only === 'node') await benchNode(process.argv.slice(3));
else if (!only) {
  console.log('\nlive: `npm run bench -- live` runs a 10-minute live session and reports its memory (RSS over time).');
  console.log('runtime: `npm run bench -- runtime` compares the WebAssembly fallback with onnxruntime-node (model, photo, video).');
}
