/// <reference lib="dom" />
/** The gallery of background pictures: buttons, the selected one, previous / next (the a / d keys). */
import type { Background } from './backgrounds.js';
import { el } from './dom.js';

export class Gallery {
  private items: Background[] = [];
  private index = 0;
  private listener: (background: Background) => void = () => undefined;

  constructor(private readonly root: HTMLElement) {}

  /** Called with the picture whenever the user picks one. */
  onSelect(listener: (background: Background) => void): void {
    this.listener = listener;
  }

  get selected(): Background | undefined {
    return this.items[this.index];
  }

  get selectedIndex(): number {
    return this.index;
  }

  get size(): number {
    return this.items.length;
  }

  add(items: Background[], select = false): void {
    const first = this.items.length;
    this.items.push(...items);
    this.render();
    if (select && items.length) this.select(first);
  }

  select(index: number): void {
    if (!this.items.length) return;
    this.index = ((index % this.items.length) + this.items.length) % this.items.length;
    this.render();
    this.listener(this.items[this.index]);
  }

  next(): void {
    this.select(this.index + 1);
  }

  previous(): void {
    this.select(this.index - 1);
  }

  private render(): void {
    const buttons = this.items.map((item, i) => {
      const button = el('button', { type: 'button', title: `${item.name} — ${item.credit}` }, [el('img', { src: item.thumbnail, alt: item.name })]);
      button.setAttribute('role', 'option');
      button.setAttribute('aria-selected', String(i === this.index));
      button.addEventListener('click', () => this.select(i));
      return button;
    });
    this.root.replaceChildren(...buttons);
  }
}
