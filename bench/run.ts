/** `npm run bench`: speed tables, measured in one run on this machine. */
import { benchPhotos } from './photos.js';

console.log(`backdrop bench — ${new Date().toISOString()} — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
await benchPhotos();
