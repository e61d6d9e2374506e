/**
 * Receives a request's files straight to disk, never whole in memory: a multipart body's `file`
 * (and optional `background`) part, or a raw image/video body. Parts are stored under names the
 * server makes (a part's filename is never used), their kind sniffed from their bytes. Fields and
 * query parameters come back as strings.
 */
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
import { HttpProblem } from './problem.js';
import { sniffFile, type Sniffed } from './sniff.js';

export interface StoredFile {
  /** Name in the folder, e.g. `input.jpg`. */
  name: string;
  path: string;
  sniffed: Sniffed;
  bytes: number;
}

export interface Upload {
  input: StoredFile;
  background?: StoredFile;
  fields: Record<string, string>;
}

const FILE_PARTS = ['file', 'background'] as const;
type FilePart = (typeof FILE_PARTS)[number];

export function tooLarge(maxUpload: number): HttpProblem {
  return new HttpProblem(413, `the upload is larger than --max-upload (${formatBytes(maxUpload)})`);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GB`;
  if (n >= 1024 ** 2) return `${Math.round((n / 1024 ** 2) * 10) / 10} MB`;
  return `${n} bytes`;
}

export async function receiveUpload(request: FastifyRequest, dir: string, maxUpload: number): Promise<Upload> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxUpload * 2 + 1024 * 1024) throw tooLarge(maxUpload);
  const fields: Record<string, string> = {};
  const raw: Partial<Record<FilePart, { path: string; bytes: number }>> = {};
  if (request.isMultipart()) {
    for await (const part of request.parts({ limits: { fileSize: maxUpload, files: 2, fields: 64, fieldSize: 64 * 1024, parts: 66 } })) {
      if (part.type === 'file') {
        const name = part.fieldname as FilePart;
        if (!FILE_PARTS.includes(name)) {
          part.file.resume();
          throw new HttpProblem(400, `unexpected file part "${part.fieldname}"; send the photo or video as "file" (and a background image as "background")`);
        }
        if (raw[name]) {
          part.file.resume();
          throw new HttpProblem(400, `give one "${name}" part`);
        }
        const path = join(dir, `${name}.upload`);
        const bytes = await toFile(part.file, path, maxUpload);
        if (part.file.truncated) throw tooLarge(maxUpload);
        raw[name] = { path, bytes };
      } else {
        if ((FILE_PARTS as readonly string[]).includes(part.fieldname)) throw new HttpProblem(400, `"${part.fieldname}" must be a file part, not a text field`);
        if (part.fieldname in fields) throw new HttpProblem(400, `give "${part.fieldname}" once`);
        fields[part.fieldname] = String(part.value);
      }
    }
  } else if (isRawMedia(request.headers['content-type'])) {
    const path = join(dir, 'file.upload');
    raw.file = { path, bytes: await toFile(request.body as Readable, path, maxUpload) };
  } else {
    throw new HttpProblem(415, 'send multipart/form-data with a "file" part, or the file itself as the body with an image/* or video/* Content-Type');
  }
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (name in fields) throw new HttpProblem(400, `"${name}" is given both as a form field and as a query parameter; give it once`);
    if (typeof value !== 'string') throw new HttpProblem(400, `give "${name}" once`);
    fields[name] = value;
  }
  if (!raw.file || raw.file.bytes === 0) throw new HttpProblem(raw.file ? 422 : 400, raw.file ? 'the uploaded file is empty' : 'no "file" part: send the photo or video as a multipart part named "file"');
  const input = await settle(raw.file, dir, 'input');
  const background = raw.background ? await settle(raw.background, dir, 'background') : undefined;
  if (background && background.sniffed.kind !== 'image') throw new HttpProblem(415, 'the background part is not an image (JPEG, PNG, WebP, AVIF, TIFF, GIF or HEIF)');
  return { input, background, fields };
}

export function isRawMedia(contentType: string | undefined): boolean {
  return /^(image|video)\/[\w.+-]+|^application\/octet-stream/i.test(contentType ?? '');
}

/** Streams to a file; over `max` bytes it stops with 413 (the rest of the source is read and dropped, so the answer reaches the client). */
function toFile(source: Readable, path: string, max: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > max) done(tooLarge(max));
        else done(null, chunk);
      },
    });
    const out = createWriteStream(path);
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      source.unpipe(counter);
      source.resume();
      out.destroy();
      reject(err);
    };
    source.once('error', fail);
    counter.once('error', fail);
    out.once('error', fail);
    out.once('finish', () => {
      source.off('error', fail);
      if (!failed) resolve(bytes);
    });
    source.pipe(counter).pipe(out);
  });
}

/**
 * Reads and drops what is left of a request's body, so a refused upload does not stall the
 * connection (Node keeps it open for the next request only once this one's body is read).
 */
export function drainBody(request: FastifyRequest): void {
  if (request.raw.readableEnded) return;
  request.raw.unpipe();
  request.raw.resume();
}

/** Sniffs an upload and gives it its server-made name (`input.jpg`, `background.png`). */
async function settle(raw: { path: string; bytes: number }, dir: string, stem: string): Promise<StoredFile> {
  const sniffed = await sniffFile(raw.path);
  if (!sniffed) throw new HttpProblem(415, `${stem === 'input' ? 'the file' : 'the background'} is not an image or video backdrop reads (JPEG, PNG, WebP, AVIF, TIFF, GIF, HEIF; MP4, MOV, WebM, MKV, AVI, Y4M…)`);
  const name = `${stem}${sniffed.ext}`;
  const path = join(dir, name);
  await rename(raw.path, path);
  return { name, path, sniffed, bytes: raw.bytes };
}
