/**
 * A real redis-server (Debian's package) for the scale-out tests: started on a free loopback port
 * in a temporary folder, with the persistence the README asks for (AOF, fsync every second), and
 * stoppable and restartable on the same port and folder (a Redis restart mid-run). Without the
 * binary the tests are skipped with one loud line; in CI (env CI set) that is a failure instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';

function findRedisServer(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export const redisServerBin: string | null = findRedisServer();

/** `describe` when redis-server is installed; otherwise one console line and a skip (a failing test in CI). */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisServerBin) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => it('needs redis-server', () => {
      throw new Error('redis-server not found on PATH: CI must install Debian\'s redis-server (.ci/run does)');
    }));
    return;
  }
  console.warn(`redis-server not found: "${name}" skipped (apt-get install redis-server to run it)`);
  describe.skip(name, body);
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops it (SIGTERM: Redis writes its AOF and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (what it had is loaded from the AOF). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  cleanup(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let text = '';
    socket.once('error', () => resolve(false));
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(text.startsWith('+PONG'));
      }
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

export async function startRedis(): Promise<TestRedis> {
  if (!redisServerBin) throw new Error('redis-server not found');
  const dir = await mkdtemp(join(tmpdir(), 'backdrop-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    proc = spawn(redisServerBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    while (!(await ping(port))) {
      if (exited) throw new Error(`redis-server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}/0`, port, dir, start, stop, cleanup: async () => (await stop(), await rm(dir, { recursive: true, force: true })) };
}
