/**
 * Keys for live sessions, in the terminal and in the preview page: `a`/`d` previous/next
 * background (the seed's keys), `f` toggles the FPS meter, `q` (or Ctrl-C, Esc in the page) quits.
 *
 * keyAction is the pure mapping; listenTerminalKeys reads stdin in raw mode when it is a TTY and
 * puts the terminal back as it was when stopped (or when the process exits).
 */

export type KeyAction = 'previous' | 'next' | 'toggle-fps' | 'quit';

/** The help line shown in the terminal and on the preview page. */
export const KEY_HELP = 'a/d: previous/next background · f: FPS meter · q: quit';

/** What a key does, or null. Accepts a single character (as typed) or a DOM `KeyboardEvent.key`. */
export function keyAction(key: string): KeyAction | null {
  switch (key) {
    case 'a':
    case 'A':
    case 'ArrowLeft':
      return 'previous';
    case 'd':
    case 'D':
    case 'ArrowRight':
      return 'next';
    case 'f':
    case 'F':
      return 'toggle-fps';
    case 'q':
    case 'Q':
    case '\u0003': // Ctrl-C in raw mode
    case '\u0004': // Ctrl-D
    case 'Escape':
      return 'quit';
    default:
      return null;
  }
}

/** The actions in a chunk of terminal input (several keys may arrive at once; escape sequences are skipped). */
export function keyActions(chunk: string): KeyAction[] {
  const out: KeyAction[] = [];
  // Arrow keys arrive as ESC [ C / ESC [ D.
  // eslint-disable-next-line no-control-regex
  const text = chunk.replace(/\u001b\[C/g, '\u0000R').replace(/\u001b\[D/g, '\u0000L').replace(/\u001b\[[0-9;]*[A-Za-z~]/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\u0000') {
      const dir = text[++i];
      out.push(dir === 'R' ? 'next' : 'previous');
      continue;
    }
    const a = keyAction(c);
    if (a) out.push(a);
  }
  return out;
}

/** What listenTerminalKeys needs from stdin (process.stdin fits; tests pass a fake). */
export interface KeyInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  removeListener(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Listen for keys on a TTY stdin (raw mode: keys arrive without Enter, and Ctrl-C arrives as a key
 * instead of SIGINT, mapped to quit). Returns a function that stops listening and restores the
 * terminal; it also runs on process exit. Not a TTY → does nothing (returns a no-op).
 */
export function listenTerminalKeys(onAction: (action: KeyAction) => void, input: KeyInput = process.stdin): () => void {
  if (!input.isTTY || typeof input.setRawMode !== 'function') return () => {};
  const wasRaw = input.isRaw ?? false;
  const onData = (chunk: string | Buffer): void => {
    for (const action of keyActions(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))) onAction(action);
  };
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    input.removeListener('data', onData);
    try {
      input.setRawMode?.(wasRaw);
    } catch {
      // the terminal is gone
    }
    input.pause();
    process.removeListener('exit', stop);
  };
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.on('data', onData);
  input.resume();
  process.on('exit', stop);
  return stop;
}
