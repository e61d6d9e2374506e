/**
 * The load generator of `npm run bench -- serve`, run as its own process so it does not share an
 * event loop with anything it measures: N clients POST a photo to /v1/images back to back for a
 * while; prints one JSON line (requests, seconds, latencies).
 */
import { readFile } from 'node:fs/promises';

const [url, file, clientsArg, secondsArg] = process.argv.slice(2);
const body = await readFile(file);
const clients = Number(clientsArg);
const until = performance.now() + Number(secondsArg) * 1000;
const latencies: number[] = [];
let failures = 0;

async function client(): Promise<void> {
  while (performance.now() < until) {
    const t = performance.now();
    const r = await fetch(`${url}/v1/images?blur=50`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });
    await r.arrayBuffer();
    if (r.status === 200) latencies.push(performance.now() - t);
    else failures++;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: clients }, client));
console.log(JSON.stringify({ requests: latencies.length, failures, seconds: (performance.now() - started) / 1000, latencies }));
