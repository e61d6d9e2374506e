/**
 * MediaRecorder writes WebM as a live stream: the Segment has no Duration (and an unknown size), so
 * players show no length and cannot seek. This fix-up reads the file's own block timestamps, then
 * writes Segment/Info/Duration. Pure byte work — no DOM — so it runs in the page and in Node tests.
 *
 * EBML in one paragraph: every element is an ID (a variable-length integer that keeps its length
 * marker, 1–4 bytes), a size (a variable-length integer, 1–8 bytes, marker removed; all ones means
 * "unknown": the element runs until something that cannot be its child) and the data.
 */

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  DefaultDuration: 0x23e383,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
} as const;

/** Elements that live directly in a Segment: meeting one ends an unknown-size Cluster. */
const SEGMENT_CHILDREN = new Set<number>([ID.SeekHead, ID.Info, ID.Tracks, ID.Cluster, ID.Cues, ID.Tags, ID.Chapters, ID.Attachments, ID.Segment, ID.EBML]);

interface Header {
  id: number;
  /** Offset of the element's first byte. */
  start: number;
  /** Offset of its data. */
  dataStart: number;
  /** Size of the data, or -1 when unknown. */
  size: number;
  /** How many bytes the size field takes. */
  sizeLength: number;
}

function vintLength(first: number): number {
  for (let n = 1; n <= 8; n++) if (first & (0x100 >> n)) return n;
  throw new Error('not a WebM file: bad EBML variable-length integer');
}

function readHeader(b: Uint8Array, at: number): Header | undefined {
  if (at >= b.length) return undefined;
  const idLen = vintLength(b[at]);
  if (idLen > 4 || at + idLen >= b.length) return undefined;
  let id = 0;
  for (let i = 0; i < idLen; i++) id = id * 256 + b[at + i];
  const sizeAt = at + idLen;
  const sizeLength = vintLength(b[sizeAt]);
  if (sizeAt + sizeLength > b.length) return undefined;
  let size = b[sizeAt] & (0xff >> sizeLength);
  let allOnes = size === 0xff >> sizeLength;
  for (let i = 1; i < sizeLength; i++) {
    size = size * 256 + b[sizeAt + i];
    if (b[sizeAt + i] !== 0xff) allOnes = false;
  }
  return { id, start: at, dataStart: sizeAt + sizeLength, size: allOnes ? -1 : size, sizeLength };
}

function readUint(b: Uint8Array, at: number, length: number): number {
  let v = 0;
  for (let i = 0; i < length; i++) v = v * 256 + b[at + i];
  return v;
}

/** A variable-length integer's value (marker removed), e.g. a block's track number. */
function readVint(b: Uint8Array, at: number): { value: number; length: number } {
  const length = vintLength(b[at]);
  let value = b[at] & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + b[at + i];
  return { value, length };
}

function readFloat(b: Uint8Array, at: number, length: number): number {
  const view = new DataView(b.buffer, b.byteOffset + at, length);
  return length === 4 ? view.getFloat32(0) : view.getFloat64(0);
}

/** The size field for `size` in the fewest bytes (at least `minLength`). */
function encodeSize(size: number, minLength = 1): Uint8Array {
  let length = minLength;
  while (length < 8 && size >= 2 ** (7 * length) - 1) length++;
  const out = new Uint8Array(length);
  let v = size;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0] |= 0x100 >> length;
  return out;
}

function encodeId(id: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.from(bytes);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Where an element ends; for an unknown size, scans children until one that cannot be its child. */
function elementEnd(b: Uint8Array, h: Header, limit: number): number {
  if (h.size >= 0) return Math.min(h.dataStart + h.size, limit);
  let at = h.dataStart;
  while (at < limit) {
    const child = readHeader(b, at);
    if (!child || SEGMENT_CHILDREN.has(child.id)) break;
    if (child.size < 0) return limit;
    at = child.dataStart + child.size;
  }
  return Math.min(at, limit);
}

export interface WebmInfo {
  /** Nanoseconds per timestamp tick (TimecodeScale). */
  timecodeScale: number;
  /** The Duration element, in ms, when the file has one. */
  durationMs: number | undefined;
  /** From the first to the end of the last block, in ms (the last block lasts one typical frame). */
  contentMs: number | undefined;
  /** Blocks (frames) seen per track number. */
  blocks: Map<number, number>;
}

interface Parsed extends WebmInfo {
  segment: Header;
  segmentEnd: number;
  info: Header | undefined;
  infoEnd: number;
  seekHead: Header | undefined;
}

function parse(b: Uint8Array): Parsed {
  const ebml = readHeader(b, 0);
  if (!ebml || ebml.id !== ID.EBML) throw new Error('not a WebM file: no EBML header');
  const segment = readHeader(b, elementEnd(b, ebml, b.length));
  if (!segment || segment.id !== ID.Segment) throw new Error('not a WebM file: no Segment after the EBML header');
  // A live Segment (unknown size) runs to the end of the file.
  const segmentEnd = segment.size < 0 ? b.length : Math.min(segment.dataStart + segment.size, b.length);

  let timecodeScale = 1_000_000;
  let durationTicks: number | undefined;
  let info: Header | undefined;
  let infoEnd = 0;
  let seekHead: Header | undefined;
  const defaultDuration = new Map<number, number>(); // track → ns
  const times = new Map<number, number[]>(); // track → block start ticks
  const durations = new Map<number, number>(); // track → last BlockDuration ticks

  const block = (at: number, clusterTime: number): void => {
    const { value: track, length: trackLength } = readVint(b, at);
    const view = new DataView(b.buffer, b.byteOffset + at + trackLength, 2);
    const t = clusterTime + view.getInt16(0);
    let list = times.get(track);
    if (!list) times.set(track, (list = []));
    list.push(t);
  };

  let at = segment.dataStart;
  while (at < segmentEnd) {
    const h = readHeader(b, at);
    if (!h) break;
    const end = elementEnd(b, h, segmentEnd);
    if (h.id === ID.Info) {
      info = h;
      infoEnd = end;
      for (let c = h.dataStart; c < end; ) {
        const e = readHeader(b, c);
        if (!e || e.size < 0) break;
        if (e.id === ID.TimecodeScale) timecodeScale = readUint(b, e.dataStart, e.size);
        if (e.id === ID.Duration) durationTicks = readFloat(b, e.dataStart, e.size);
        c = e.dataStart + e.size;
      }
    } else if (h.id === ID.SeekHead) {
      seekHead = h;
    } else if (h.id === ID.Tracks) {
      for (let c = h.dataStart; c < end; ) {
        const entry = readHeader(b, c);
        if (!entry || entry.size < 0) break;
        if (entry.id === ID.TrackEntry) {
          let number = 0, dd = 0;
          for (let d = entry.dataStart; d < entry.dataStart + entry.size; ) {
            const e = readHeader(b, d);
            if (!e || e.size < 0) break;
            if (e.id === ID.TrackNumber) number = readUint(b, e.dataStart, e.size);
            if (e.id === ID.DefaultDuration) dd = readUint(b, e.dataStart, e.size);
            d = e.dataStart + e.size;
          }
          if (number && dd) defaultDuration.set(number, dd);
        }
        c = entry.dataStart + entry.size;
      }
    } else if (h.id === ID.Cluster) {
      let clusterTime = 0;
      for (let c = h.dataStart; c < end; ) {
        const e = readHeader(b, c);
        if (!e || e.size < 0) break;
        const eEnd = Math.min(e.dataStart + e.size, end);
        if (e.id === ID.Timecode) clusterTime = readUint(b, e.dataStart, e.size);
        else if (e.id === ID.SimpleBlock && eEnd - e.dataStart >= 4) block(e.dataStart, clusterTime);
        else if (e.id === ID.BlockGroup) {
          let blockDuration: number | undefined;
          let track = -1;
          for (let d = e.dataStart; d < eEnd; ) {
            const g = readHeader(b, d);
            if (!g || g.size < 0) break;
            if (g.id === ID.Block && g.size >= 4) {
              block(g.dataStart, clusterTime);
              track = readVint(b, g.dataStart).value;
            }
            if (g.id === ID.BlockDuration) blockDuration = readUint(b, g.dataStart, g.size);
            d = g.dataStart + g.size;
          }
          if (blockDuration !== undefined && track >= 0) durations.set(track, blockDuration);
        }
        c = eEnd;
      }
    }
    if (end <= at) break;
    at = end;
  }

  const msPerTick = timecodeScale / 1e6;
  let first = Infinity, last = -Infinity;
  const blocks = new Map<number, number>();
  for (const [track, list] of times) {
    blocks.set(track, list.length);
    const sorted = [...list].sort((x, y) => x - y);
    // The last frame lasts: its BlockDuration, else the track's DefaultDuration, else the median gap.
    let tail = durations.get(track);
    if (tail === undefined && defaultDuration.has(track)) tail = defaultDuration.get(track)! / timecodeScale;
    if (tail === undefined && sorted.length > 1) {
      const gaps = sorted.slice(1).map((t, i) => t - sorted[i]).filter((g) => g > 0).sort((x, y) => x - y);
      tail = gaps.length ? gaps[gaps.length >> 1] : 0;
    }
    first = Math.min(first, sorted[0]);
    last = Math.max(last, sorted[sorted.length - 1] + (tail ?? 0));
  }
  return {
    segment,
    segmentEnd,
    info,
    infoEnd,
    seekHead,
    timecodeScale,
    durationMs: durationTicks === undefined ? undefined : durationTicks * msPerTick,
    contentMs: Number.isFinite(first) ? (last - Math.min(first, 0)) * msPerTick : undefined,
    blocks,
  };
}

/** What the file says about itself: timestamp scale, Duration (if any), content length, frames per track. */
export function readWebmInfo(bytes: Uint8Array): WebmInfo {
  const { timecodeScale, durationMs, contentMs, blocks } = parse(bytes);
  return { timecodeScale, durationMs, contentMs, blocks };
}

/**
 * Returns the file with Segment/Info/Duration set to `durationMs` (default: measured from the
 * file's own block timestamps). Any old Duration is replaced; a SeekHead pointing past Info is
 * updated; a Segment of known size grows by what was added.
 */
export function fixWebmDuration(bytes: Uint8Array, durationMs?: number): { bytes: Uint8Array; durationMs: number } {
  const p = parse(bytes);
  const ms = durationMs ?? p.contentMs;
  if (ms === undefined || !(ms >= 0)) throw new Error('the WebM file has no frames to measure its duration by');
  if (!p.info) throw new Error('the WebM file has no Segment Info');
  const info = p.info;

  // Info's children without any old Duration, plus the new one (a float64 in timestamp ticks).
  const kept: Uint8Array[] = [];
  for (let c = info.dataStart; c < p.infoEnd; ) {
    const e = readHeader(bytes, c);
    if (!e || e.size < 0) break;
    const end = e.dataStart + e.size;
    if (e.id !== ID.Duration) kept.push(bytes.subarray(c, end));
    c = end;
  }
  const duration = new Uint8Array(11);
  duration.set([0x44, 0x89, 0x88]);
  new DataView(duration.buffer).setFloat64(3, ms / (p.timecodeScale / 1e6));
  const infoData = concat([...kept, duration]);
  const newInfo = concat([encodeId(ID.Info), encodeSize(infoData.length), infoData]);
  const delta = newInfo.length - (p.infoEnd - info.start);

  const head = bytes.slice(0, info.start);
  // A Segment with a known size grows by delta (rewritten in the same number of bytes).
  if (p.segment.size >= 0) {
    const size = encodeSize(p.segment.size + delta, p.segment.sizeLength);
    if (size.length !== p.segment.sizeLength) throw new Error('the WebM Segment size field is too short to grow');
    head.set(size, p.segment.dataStart - p.segment.sizeLength);
  }
  // SeekHead entries are offsets from the Segment's data: those after Info move by delta.
  if (p.seekHead && p.seekHead.start < info.start && delta !== 0) {
    const infoRel = info.start - p.segment.dataStart;
    const seekEnd = p.seekHead.dataStart + p.seekHead.size;
    for (let c = p.seekHead.dataStart; c < seekEnd; ) {
      const seek = readHeader(head, c);
      if (!seek || seek.size < 0) break;
      for (let d = seek.dataStart; d < seek.dataStart + seek.size; ) {
        const e = readHeader(head, d);
        if (!e || e.size < 0) break;
        if (e.id === ID.SeekPosition) {
          const pos = readUint(head, e.dataStart, e.size);
          if (pos > infoRel) {
            const moved = pos + delta;
            if (moved >= 2 ** (8 * e.size)) throw new Error('a WebM SeekPosition is too short to move');
            for (let i = e.size - 1, v = moved; i >= 0; i--, v = Math.floor(v / 256)) head[e.dataStart + i] = v % 256;
          }
        }
        d = e.dataStart + e.size;
      }
      c = seek.dataStart + seek.size;
    }
  }
  return { bytes: concat([head, newInfo, bytes.subarray(p.infoEnd)]), durationMs: ms };
}
