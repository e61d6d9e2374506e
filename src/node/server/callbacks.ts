/**
 * `callback_url`: when a job finishes, its JSON is POSTed there, signed with the API key that
 * created it (`Backdrop-Signature: sha256=<hex HMAC-SHA256 of the body>`), and retried with
 * exponential backoff until a 2xx answer. Whether it was delivered is kept with the job, so a
 * restart resends what was not. Private, loopback and link-local addresses are refused unless
 * `--allow-private-callbacks` (a callback must not become a way into the server's own network).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ApiKeys } from './auth.js';
import type { JobStore } from './jobs/store.js';
import { publicJob, type JobRecord } from './jobs/types.js';

export const CALLBACK_ATTEMPTS = 6;

export interface CallbackOptions {
  keys: ApiKeys;
  allowPrivate: boolean;
  /** Delay before retry n (1-based), ms. */
  backoffMs?: (attempt: number) => number;
  onWarning?: (message: string) => void;
  /** Scale-out: several API nodes see a job finish; the one whose claim succeeds sends its callback. */
  claim?: (id: string) => Promise<boolean>;
}

/** Checks a callback URL when a job is submitted: http(s), and no private address unless allowed. Returns why not, or null. */
export async function callbackProblem(url: string, allowPrivate: boolean): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `callback_url is not a URL: "${url}"`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `callback_url must be http or https, got ${parsed.protocol}`;
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await lookup(host, { all: true }).then((a) => a.map((x) => x.address), () => [] as string[]);
  if (addresses.length === 0) return `callback_url: cannot resolve ${host}`;
  const bad = addresses.find(isPrivateAddress);
  return bad ? `callback_url resolves to a private or loopback address (${bad}); start the server with --allow-private-callbacks to allow it` : null;
}

export function isPrivateAddress(address: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  const v6 = address.toLowerCase();
  return v6 === '::1' || v6 === '::' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe80');
}

export class CallbackSender {
  private readonly inFlight = new Set<string>();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: JobStore,
    private readonly options: CallbackOptions,
  ) {}

  /** Sends a finished job's callback, unless it has none or it was delivered. */
  send(job: JobRecord): void {
    if (!job.callback || job.callback.delivered || job.callback.attempts >= CALLBACK_ATTEMPTS || this.inFlight.has(job.id)) return;
    this.inFlight.add(job.id);
    void this.begin(job.id);
  }

  private async begin(id: string): Promise<void> {
    if (this.options.claim && !(await this.options.claim(id).catch(() => false))) return void this.inFlight.delete(id);
    await this.attempt(id);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private async attempt(id: string): Promise<void> {
    const job = await this.store.get(id).catch(() => undefined);
    if (!job?.callback || this.stopped) return void this.inFlight.delete(id);
    const body = JSON.stringify(publicJob(job));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'backdrop-serve' };
    const signature = this.options.keys.sign(job.key_id, body);
    if (signature) headers['backdrop-signature'] = signature;
    let error: string | undefined;
    try {
      const problem = await callbackProblem(job.callback.url, this.options.allowPrivate);
      if (problem) throw new Error(problem);
      const response = await fetch(job.callback.url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(10_000) });
      await response.body?.cancel();
      if (!response.ok) error = `answered ${response.status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = job.callback.attempts + 1;
    const delivered = error === undefined;
    await this.store.update(id, { callback: { ...job.callback, attempts, delivered, ...(error ? { last_error: error } : {}) } }).catch(() => {});
    if (delivered || attempts >= CALLBACK_ATTEMPTS || this.stopped) {
      if (!delivered) this.options.onWarning?.(`callback for job ${id} to ${job.callback.url} failed ${attempts} times (${error}); giving up`);
      this.inFlight.delete(id);
      return;
    }
    const delay = (this.options.backoffMs ?? ((n) => 1000 * 2 ** (n - 1)))(attempts);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(id);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}
