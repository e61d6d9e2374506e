/** Key → action mapping and terminal raw mode handling (with a fake TTY). */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { keyAction, keyActions, listenTerminalKeys, type KeyAction } from '../../src/node/live/keys.js';

describe('keyAction', () => {
  it('maps the live keys', () => {
    expect(keyAction('a')).toBe('previous');
    expect(keyAction('d')).toBe('next');
    expect(keyAction('D')).toBe('next');
    expect(keyAction('ArrowLeft')).toBe('previous');
    expect(keyAction('f')).toBe('toggle-fps');
    expect(keyAction('q')).toBe('quit');
    expect(keyAction('\u0003')).toBe('quit');
    expect(keyAction('Escape')).toBe('quit');
    for (const k of ['x', ' ', '', 'Enter', 'ad']) expect(keyAction(k)).toBeNull();
  });

  it('splits a chunk of terminal input into actions', () => {
    expect(keyActions('adxfq')).toEqual(['previous', 'next', 'toggle-fps', 'quit']);
    expect(keyActions('\u001b[C\u001b[D\u001b[A')).toEqual(['next', 'previous']);
  });
});

class FakeTty extends EventEmitter {
  isTTY = true;
  isRaw = false;
  paused = true;
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    return this;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
}

describe('listenTerminalKeys', () => {
  it('uses raw mode while listening and restores the terminal', () => {
    const tty = new FakeTty();
    const got: KeyAction[] = [];
    const stop = listenTerminalKeys((a) => got.push(a), tty);
    expect(tty.isRaw).toBe(true);
    tty.emit('data', 'd');
    tty.emit('data', Buffer.from('a\u0003'));
    expect(got).toEqual(['next', 'previous', 'quit']);
    stop();
    stop();
    expect(tty.isRaw).toBe(false);
    expect(tty.paused).toBe(true);
    expect(tty.listenerCount('data')).toBe(0);
    tty.emit('data', 'q');
    expect(got).toHaveLength(3);
  });

  it('does nothing when stdin is not a terminal', () => {
    const pipe = new FakeTty();
    pipe.isTTY = false;
    const stop = listenTerminalKeys(() => {}, pipe);
    expect(pipe.isRaw).toBe(false);
    expect(pipe.listenerCount('data')).toBe(0);
    stop();
  });
});
