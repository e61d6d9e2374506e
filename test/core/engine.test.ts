import { describe, expect, it } from 'vitest';
import { Engine, runEngine, type FrameSink, type FrameSource } from '../../src/core/engine.js';
import type { Frame } from '../../src/core/frame.js';
import type { FrameProcessor } from '../../src/core/processor.js';

/** A 1×1 RGB frame whose red value is its index. */
const frameAt = (i: number, timestamp?: number): Frame => ({ width: 1, height: 1, channels: 3, data: Uint8Array.of(i, 0, 0), timestamp });

interface TestSource extends FrameSource {
  pulled: number;
  closed: number;
}

/** n frames (timestamps 40 ms apart), counting how many were pulled; optional delay per frame. */
function memorySource(n: number, opts: { delayMs?: number; failAt?: number } = {}): TestSource {
  const src: TestSource = {
    pulled: 0,
    closed: 0,
    async *frames() {
      for (let i = 0; i < n; i++) {
        if (opts.delayMs) await sleep(opts.delayMs);
        if (src.closed) return;
        if (i === opts.failAt) throw new Error(`decode failed at frame ${i}`);
        src.pulled++;
        yield frameAt(i, i * 40);
      }
    },
    async close() {
      src.closed++;
    },
  };
  return src;
}

interface TestSink extends FrameSink {
  frames: Frame[];
  finished: number;
  aborted: unknown[];
}

function memorySink(write?: (f: Frame) => Promise<void>): TestSink {
  const sink: TestSink = {
    frames: [],
    finished: 0,
    aborted: [],
    async write(f) {
      await write?.(f);
      sink.frames.push(f);
    },
    async finish() {
      sink.finished++;
    },
    async abort(reason) {
      sink.aborted.push(reason);
    },
  };
  return sink;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ids = (frames: Frame[]) => frames.map((f) => f.data[0]);

/** Adds `k` to the green channel (a new frame, so pass-through frames stay recognisable). */
function addGreen(k: number): FrameProcessor & { calls: number[]; inits: number; closes: number } {
  const p = {
    calls: [] as number[],
    inits: 0,
    closes: 0,
    init() {
      p.inits++;
    },
    process(f: Frame): Frame {
      p.calls.push(f.data[0]);
      const data = f.data.slice();
      data[1] += k;
      return { ...f, data };
    },
    close() {
      p.closes++;
    },
  };
  return p;
}

describe('Engine', () => {
  it('runs every frame through the processors in order, into the sink in order', async () => {
    const source = memorySource(20, { delayMs: 1 });
    const a = addGreen(1), b = addGreen(10);
    const sink = memorySink(async (f) => {
      if (f.data[0] % 3 === 0) await sleep(3); // uneven write times must not reorder
    });
    const summary = await runEngine({ source, processors: [a, b], sink });
    expect(ids(sink.frames)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(sink.frames.every((f) => f.data[1] === 11)).toBe(true); // a then b on every frame
    expect(b.calls).toEqual(a.calls);
    expect(a.inits).toBe(1);
    expect(a.closes).toBe(1);
    expect(b.closes).toBe(1);
    expect(sink.finished).toBe(1);
    expect(sink.aborted).toEqual([]);
    expect(source.closed).toBeGreaterThanOrEqual(1);
    expect(summary).toMatchObject({ framesIn: 20, framesOut: 20, processed: 20, passedThrough: 0, dropped: 0, stopped: false });
    expect(summary.processorMs).toHaveLength(2);
  });

  it('passes frames outside a frame range through untouched', async () => {
    const source = memorySource(8);
    const p = addGreen(1);
    const sink = memorySink();
    const summary = await runEngine({ source, processors: [p], sink, range: { from: 2, to: 5, unit: 'frame' } });
    expect(ids(sink.frames)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sink.frames.map((f) => f.data[1])).toEqual([0, 0, 1, 1, 1, 0, 0, 0]);
    expect(p.calls).toEqual([2, 3, 4]);
    expect(summary).toMatchObject({ framesIn: 8, framesOut: 8, processed: 3, passedThrough: 5, dropped: 0 });
  });

  it('takes a range in milliseconds from frame timestamps', async () => {
    const p = addGreen(1);
    const sink = memorySink();
    // Timestamps 0, 40, 80, …: [100 ms, 200 ms) holds frames 3 and 4.
    await runEngine({ source: memorySource(8), processors: [p], sink, range: { from: 100, to: 200, unit: 'ms' } });
    expect(p.calls).toEqual([3, 4]);
    expect(sink.frames).toHaveLength(8);
  });

  it('drops frames outside the range with trim, and stops reading after `to`', async () => {
    const source = memorySource(100);
    const p = addGreen(1);
    const sink = memorySink();
    const summary = await runEngine({ source, processors: [p], sink, range: { from: 2, to: 5, unit: 'frame' }, trim: true });
    expect(ids(sink.frames)).toEqual([2, 3, 4]);
    expect(sink.frames.every((f) => f.data[1] === 1)).toBe(true);
    expect(source.pulled).toBe(6); // 0..5: frame 5 shows the range is over
    expect(summary).toMatchObject({ framesIn: 6, framesOut: 3, processed: 3, dropped: 3 });
    expect(sink.finished).toBe(1);
  });

  it('rejects bad ranges and options', () => {
    const base = { source: memorySource(1), sink: memorySink() };
    expect(() => new Engine({ ...base, range: { from: 5, to: 5, unit: 'frame' } })).toThrow(/after from/);
    expect(() => new Engine({ ...base, range: { from: -1, unit: 'frame' } })).toThrow(/from/);
    expect(() => new Engine({ ...base, range: { unit: 'seconds' as 'ms' } })).toThrow(/unit/);
    expect(() => new Engine({ ...base, maxInFlight: 0 })).toThrow(/maxInFlight/);
  });

  for (const maxInFlight of [1, 2, 3, 5]) {
    it(`never pulls more than ${maxInFlight} frame(s) ahead of a slow sink`, async () => {
      const source = memorySource(30);
      let maxAhead = 0;
      let written = 0;
      const sink = memorySink(async () => {
        maxAhead = Math.max(maxAhead, source.pulled - written);
        await sleep(2);
        written++;
      });
      const probe: FrameProcessor = {
        process: (f) => {
          maxAhead = Math.max(maxAhead, source.pulled - written);
          return f;
        },
      };
      await runEngine({ source, processors: [probe], sink, maxInFlight });
      expect(sink.frames).toHaveLength(30);
      expect(maxAhead).toBeLessThanOrEqual(maxInFlight);
      expect(maxAhead).toBe(maxInFlight); // and the bound is actually used: reading overlaps writing
    });
  }

  it('processes frame N + 1 while frame N is being written', async () => {
    const events: string[] = [];
    let release: (() => void) | null = null;
    const sink = memorySink(async (f) => {
      events.push(`write ${f.data[0]} start`);
      if (f.data[0] === 0) await new Promise<void>((r) => (release = r));
      events.push(`write ${f.data[0]} end`);
    });
    const p: FrameProcessor = {
      process: (f) => {
        events.push(`process ${f.data[0]}`);
        if (f.data[0] === 1) setTimeout(() => release?.(), 5);
        return f;
      },
    };
    await runEngine({ source: memorySource(3), processors: [p], sink });
    expect(events.indexOf('process 1')).toBeGreaterThan(events.indexOf('write 0 start'));
    expect(events.indexOf('process 1')).toBeLessThan(events.indexOf('write 0 end'));
  });

  it('aborts: rejects with the reason, aborts the sink, closes the source and stops reading', async () => {
    const source = memorySource(1000, { delayMs: 1 });
    const p = addGreen(1);
    const controller = new AbortController();
    const sink = memorySink(async (f) => {
      if (f.data[0] === 5) controller.abort(new Error('user pressed Ctrl-C'));
    });
    await expect(runEngine({ source, processors: [p], sink, signal: controller.signal })).rejects.toThrow('user pressed Ctrl-C');
    expect(sink.aborted).toHaveLength(1);
    expect((sink.aborted[0] as Error).message).toBe('user pressed Ctrl-C');
    expect(sink.finished).toBe(0);
    expect(source.closed).toBeGreaterThanOrEqual(1);
    expect(p.closes).toBe(1);
    const pulled = source.pulled;
    expect(pulled).toBeLessThanOrEqual(5 + 1 + 3);
    await sleep(20);
    expect(source.pulled).toBe(pulled); // nothing more is read afterwards
  });

  it('does not start when the signal is already aborted', async () => {
    const source = memorySource(10);
    const sink = memorySink();
    const p = addGreen(1);
    await expect(runEngine({ source, processors: [p], sink, signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no');
    expect(source.pulled).toBe(0);
    expect(p.inits).toBe(0);
    expect(sink.aborted).toHaveLength(1);
  });

  it('a failing processor aborts the sink and rethrows; processors are still closed', async () => {
    const good = addGreen(1);
    const bad: FrameProcessor = {
      process: (f) => {
        if (f.data[0] === 3) throw new Error('model crashed');
        return f;
      },
    };
    const source = memorySource(50);
    const sink = memorySink();
    await expect(runEngine({ source, processors: [good, bad], sink })).rejects.toThrow('model crashed');
    expect(ids(sink.frames)).toEqual([0, 1, 2]);
    expect(sink.aborted).toHaveLength(1);
    expect(sink.finished).toBe(0);
    expect(good.closes).toBe(1);
    expect(source.closed).toBeGreaterThanOrEqual(1);
    expect(source.pulled).toBeLessThan(50);
  });

  it('a failing source or sink aborts the sink and rethrows', async () => {
    const sink1 = memorySink();
    await expect(runEngine({ source: memorySource(10, { failAt: 4 }), sink: sink1 })).rejects.toThrow('decode failed at frame 4');
    // Whatever was written before the failure is an in-order prefix; the output is then aborted.
    expect(ids(sink1.frames)).toEqual([0, 1, 2, 3].slice(0, sink1.frames.length));
    expect(sink1.aborted).toHaveLength(1);
    expect((sink1.aborted[0] as Error).message).toBe('decode failed at frame 4');
    expect(sink1.finished).toBe(0);

    const source = memorySource(10);
    const sink2 = memorySink(async (f) => {
      if (f.data[0] === 2) throw new Error('disk full');
    });
    await expect(runEngine({ source, sink: sink2 })).rejects.toThrow('disk full');
    expect(sink2.aborted).toHaveLength(1);
    expect(sink2.finished).toBe(0);
  });

  it('a failing init aborts before any frame is read', async () => {
    const source = memorySource(10);
    const sink = memorySink();
    const first = addGreen(1);
    const broken: FrameProcessor = { init: () => Promise.reject(new Error('no model')), process: (f) => f };
    await expect(runEngine({ source, processors: [first, broken], sink })).rejects.toThrow('no model');
    expect(source.pulled).toBe(0);
    expect(first.closes).toBe(1); // what was initialised is closed
    expect(sink.aborted).toHaveLength(1);
  });

  it('stop() ends gracefully: frames in flight are written and the sink finished', async () => {
    const source = memorySource(1000, { delayMs: 1 });
    const sink = memorySink();
    const engine = new Engine({
      source,
      sink,
      onFrame: (s) => {
        if (s.framesOut === 10) engine.stop();
      },
    });
    const summary = await engine.run();
    expect(summary.stopped).toBe(true);
    expect(sink.finished).toBe(1);
    expect(sink.aborted).toEqual([]);
    expect(sink.frames.length).toBeGreaterThanOrEqual(10);
    expect(sink.frames.length).toBeLessThanOrEqual(13);
    expect(ids(sink.frames)).toEqual(Array.from({ length: sink.frames.length }, (_, i) => i));
  });

  it('reports per-frame stats and per-processor time from the injected clock', async () => {
    let t = 0;
    const clock = () => t;
    const slow: FrameProcessor = {
      process: (f) => {
        t += 7;
        return f;
      },
    };
    const fast: FrameProcessor = {
      process: (f) => {
        t += 1;
        return f;
      },
    };
    const stats: { index: number; processed: boolean; processMs: number }[] = [];
    const summary = await runEngine({
      source: memorySource(4),
      processors: [slow, fast],
      sink: memorySink(),
      clock,
      range: { to: 3, unit: 'frame' },
      onFrame: (s) => stats.push({ index: s.index, processed: s.processed, processMs: s.processMs }),
    });
    expect(summary.processorMs).toEqual([21, 3]);
    expect(summary.elapsedMs).toBe(24);
    expect(summary.fps).toBeCloseTo(4000 / 24, 6);
    expect(stats).toEqual([
      { index: 0, processed: true, processMs: 8 },
      { index: 1, processed: true, processMs: 8 },
      { index: 2, processed: true, processMs: 8 },
      { index: 3, processed: false, processMs: 0 },
    ]);
  });

  it('needs timestamps for a range in milliseconds', async () => {
    const source: FrameSource = {
      async *frames() {
        yield frameAt(0);
      },
    };
    const sink = memorySink();
    await expect(runEngine({ source, sink, range: { from: 10, unit: 'ms' } })).rejects.toThrow(/timestamps/);
    expect(sink.aborted).toHaveLength(1);
  });
});
