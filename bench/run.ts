/** `npm run bench`: speed tables, measured in one run on this machine. `npm run bench -- photos` or `-- video` runs one part. */
import { cpus, loadavg } from 'node:os';
import { benchPhotos } from './photos.js';
import { benchVideo } from './video.js';

const only = process.argv[2];
console.log(`backdrop bench — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`);
if (!only || only === 'photos') await benchPhotos();
if (!only || only === 'video') await benchVideo();
