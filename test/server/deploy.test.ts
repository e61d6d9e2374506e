/**
 * The Docker files users start the scale-out from (no Docker here): docker-compose.yml parses, its
 * services' commands use only options `backdrop serve` and `backdrop worker` have, its addresses
 * point at each other, Redis keeps accepted jobs (AOF, fsync every second), and the Dockerfile
 * builds from what the repository has.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli } from '../helpers/cli.js';

interface Service {
  build?: string;
  image?: string;
  command: string[];
  environment?: Record<string, string>;
  ports?: string[];
  deploy?: { replicas?: number };
  depends_on?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
const { redis, api, worker } = compose.services;
const dockerfile = readFileSync('Dockerfile', 'utf8');

/** The value after `--name` in a command. */
function option(command: string[], name: string): string | undefined {
  const i = command.indexOf(name);
  return i < 0 ? undefined : command[i + 1];
}

/** Every `--option` a command uses is one `backdrop <sub> --help` lists. */
async function expectKnownOptions(command: string[]): Promise<void> {
  const [sub, ...args] = command;
  const help = await cli(sub, '--help');
  expect(help.code).toBe(0);
  const listed = new Set(help.stdout.match(/--[a-z][a-z-]*/g));
  for (const arg of args.filter((a) => a.startsWith('--'))) expect(listed, `${sub} ${arg}`).toContain(arg);
}

describe('docker-compose.yml', () => {
  it('has Redis, the API and two workers, started with options their commands have', async () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'worker']);
    expect(worker.deploy?.replicas).toBe(2);
    expect(api.command[0]).toBe('serve');
    expect(worker.command[0]).toBe('worker');
    await expectKnownOptions(api.command);
    await expectKnownOptions(worker.command);
    expect(api.command).toContain('--no-work');
  });

  it('points the services at each other', () => {
    for (const s of [api, worker]) {
      expect(new URL(option(s.command, '--redis')!).hostname).toBe('redis');
      expect(s.depends_on).toContain('redis');
    }
    const port = option(api.command, '--port');
    expect(option(api.command, '--host')).toBe('0.0.0.0');
    expect(api.ports?.map((p) => p.split(':').at(-1))).toContain(port);
    const apiUrl = new URL(option(worker.command, '--api')!);
    expect([apiUrl.hostname, apiUrl.port]).toEqual(['api', port]);
    // One shared secret: the API's list of keys and the workers' key.
    expect(api.environment?.BACKDROP_API_KEYS).toMatch(/^\$\{BACKDROP_API_KEY[:?}]/);
    expect(worker.environment?.BACKDROP_API_KEY).toMatch(/^\$\{BACKDROP_API_KEY[:?}]/);
    // The workers run the image the API's service builds.
    expect(api.build).toBe('.');
    expect(worker.image).toBe(api.image);
  });

  it('keeps accepted jobs across a Redis restart (AOF, fsynced every second)', () => {
    expect(option(redis.command, '--appendonly')).toBe('yes');
    expect(option(redis.command, '--appendfsync')).toBe('everysec');
    expect(redis.image).toMatch(/^redis:7/);
  });
});

describe('Dockerfile', () => {
  it('installs the packed package with ffmpeg and runs backdrop', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(copied.length).toBeGreaterThan(0);
    for (const path of copied) expect(existsSync(path), path).toBe(true);
    expect(dockerfile).toMatch(/npm pack/);
    expect(dockerfile).toMatch(/apt-get install [^\n]*ffmpeg/);
    expect(dockerfile).toMatch(/ENV ONNXRUNTIME_NODE_INSTALL=skip/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["backdrop"\]$/m);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
    expect(Object.keys(pkg.bin)).toEqual(['backdrop']);
    // The image's Node is the major package.json asks for.
    const major = pkg.engines.node.match(/\d+/)![0];
    for (const m of dockerfile.matchAll(/^FROM node:(\d+)/gm)) expect(m[1]).toBe(major);
    // The build context leaves out what npm ci and npm pack make again.
    expect(readFileSync('.dockerignore', 'utf8').split('\n')).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});
