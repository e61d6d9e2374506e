/**
 * API keys: `--api-key` and the comma-separated env BACKDROP_API_KEYS. A request to /v1/ must send
 * `Authorization: Bearer KEY` when any key is set. Keys are compared by their SHA-256 digests in
 * constant time; a job remembers only its key's fingerprint (to sign its callback with that key).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export class ApiKeys {
  private readonly digests: { key: string; digest: Buffer; id: string }[];

  constructor(keys: string[]) {
    this.digests = keys.filter((k) => k.length > 0).map((key) => ({ key, digest: sha256(key), id: sha256(key).subarray(0, 8).toString('hex') }));
  }

  static from(cliKeys: string[], env: string | undefined): ApiKeys {
    return new ApiKeys([...cliKeys, ...(env ?? '').split(',').map((k) => k.trim())]);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The fingerprint of the key an Authorization header carries, or null when it carries none of ours. */
  verify(authorization: string | undefined): string | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return null;
    const digest = sha256(m[1]);
    let found: string | null = null;
    // Check every key (no early exit) so the time taken does not tell which one was close.
    for (const k of this.digests) if (timingSafeEqual(k.digest, digest)) found = k.id;
    return found;
  }

  /** `sha256=<hex HMAC-SHA256 of body>` with the key whose fingerprint is `id`; null without such a key. */
  sign(id: string | undefined, body: string): string | null {
    const key = this.digests.find((k) => k.id === id)?.key;
    return key === undefined ? null : `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
