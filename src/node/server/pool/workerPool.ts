/**
 * A fixed number of worker threads (`--concurrency`), each with the model loaded once, so photos
 * and videos are processed off the event loop and the API stays responsive while every core
 * works. Tasks wait in a FIFO; the job queue only hands a job over when a worker is free, so the
 * pool's own FIFO holds just synchronous photo requests (a client is waiting for those).
 * A worker that dies is replaced; its task fails with the reason.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { CliOptions } from '../../options/cliOptions.js';
import type { FromWorker, Task, TaskError, TaskResult, ToWorker } from './messages.js';

export class TaskFailed extends Error {
  constructor(readonly error: TaskError) {
    super(error.message);
    this.name = 'TaskFailed';
  }
}

export interface TaskHandle {
  promise: Promise<TaskResult>;
  /** Aborts a running video (its output is removed) or drops a waiting task; the promise rejects with a TaskFailed named Canceled. */
  cancel(): void;
}

interface Pending {
  id: number;
  task: Task;
  onProgress: (done: number, total: number | null) => void;
  resolve: (result: TaskResult) => void;
  reject: (err: Error) => void;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  current?: Pending;
}

export interface PoolOptions {
  size: number;
  /** Options whose model each worker loads at start. */
  warmOptions: CliOptions;
  onWarning?: (message: string) => void;
}

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

export class WorkerPool extends EventEmitter<{ idle: []; ready: [] }> {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private readonly models = new Set<string>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    super();
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Every worker has its model loaded. */
  get ready(): boolean {
    return this.slots.every((s) => s.ready);
  }

  loadedModels(): ReadonlySet<string> {
    return this.models;
  }

  /** Workers with nothing to do and nothing waiting for them. */
  freeSlots(): number {
    return this.slots.filter((s) => s.ready && !s.current).length - this.waiting.length;
  }

  waitingCount(): number {
    return this.waiting.length;
  }

  busyCount(): number {
    return this.slots.filter((s) => s.current).length;
  }

  run(task: Task, onProgress: (done: number, total: number | null) => void = () => {}): TaskHandle {
    let pending!: Pending;
    const promise = new Promise<TaskResult>((resolve, reject) => {
      pending = { id: this.nextId++, task, onProgress, resolve, reject };
    });
    this.waiting.push(pending);
    this.pump();
    return {
      promise,
      cancel: () => {
        const i = this.waiting.indexOf(pending);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          pending.reject(new TaskFailed({ name: 'Canceled', message: 'canceled' }));
        } else if (pending.slot?.current === pending) {
          this.send(pending.slot, { type: 'cancel', taskId: pending.id });
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new TaskFailed({ name: 'Canceled', message: 'the server is stopping' }));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(workerUrl, { workerData: { warmOptions: this.options.warmOptions } });
    const slot: Slot = { worker, ready: false };
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (err) => this.options.onWarning?.(`a worker failed: ${err.message}`));
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        slot.ready = true;
        if (this.ready) this.emit('ready');
        this.pump();
        return;
      case 'loaded':
        this.models.add(m.model);
        return;
      case 'warning':
        this.options.onWarning?.(m.message);
        return;
      case 'progress':
        if (slot.current?.id === m.taskId) slot.current.onProgress(m.done, m.total);
        return;
      case 'done':
      case 'failed': {
        const p = slot.current;
        if (!p || p.id !== m.taskId) return;
        slot.current = undefined;
        if (m.type === 'done') p.resolve({ bytes: m.bytes, frames: m.frames, data: m.data });
        else p.reject(new TaskFailed(m.error));
        this.pump();
        return;
      }
    }
  }

  private onExit(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    const p = slot.current;
    slot.current = undefined;
    p?.reject(new TaskFailed({ name: 'WorkerExit', message: `the worker processing it stopped unexpectedly (exit code ${code})` }));
    if (this.closed) return;
    this.slots[i] = this.spawn();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.current) continue;
      const p = this.waiting.shift();
      if (!p) break;
      slot.current = p;
      p.slot = slot;
      this.send(slot, { type: 'run', taskId: p.id, task: p.task });
    }
    if (this.freeSlots() > 0) this.emit('idle');
  }

  private send(slot: Slot, m: ToWorker): void {
    slot.worker.postMessage(m);
  }
}
