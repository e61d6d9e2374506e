/// <reference lib="dom" />
/**
 * The message strip under the preview: one message per code (camera-denied, no-camera,
 * webgl-missing, model-failed…), replaced when the same code is shown again, with optional buttons.
 */
import { el } from './dom.js';

export type Level = 'info' | 'warning' | 'error';

export interface MessageAction {
  label: string;
  run(): void;
}

export interface ShownMessage {
  code: string;
  level: Level;
  text: string;
}

export class Messages {
  private readonly shown = new Map<string, { element: HTMLElement; message: ShownMessage }>();

  constructor(private readonly root: HTMLElement) {}

  show(code: string, level: Level, text: string, actions: MessageAction[] = []): void {
    const element = el('div', { className: `message ${level}` }, [el('span', { className: 'text', textContent: text })]);
    element.dataset.code = code;
    element.setAttribute('role', level === 'error' ? 'alert' : 'status');
    for (const action of actions) {
      const button = el('button', { type: 'button', textContent: action.label });
      button.addEventListener('click', () => action.run());
      element.append(button);
    }
    const dismiss = el('button', { type: 'button', textContent: '×', title: 'Dismiss' });
    dismiss.setAttribute('aria-label', 'Dismiss');
    dismiss.addEventListener('click', () => this.clear(code));
    element.append(dismiss);
    const old = this.shown.get(code);
    if (old) old.element.replaceWith(element);
    else this.root.append(element);
    this.shown.set(code, { element, message: { code, level, text } });
  }

  clear(code: string): void {
    this.shown.get(code)?.element.remove();
    this.shown.delete(code);
  }

  has(code: string): boolean {
    return this.shown.has(code);
  }

  list(): ShownMessage[] {
    return [...this.shown.values()].map((m) => m.message);
  }
}
