/// <reference lib="dom" />
/** The list of things to download: recordings, processed photos and videos, snapshots. */
import { $, el } from './dom.js';

export interface ResultFile {
  blob: Blob;
  filename: string;
  label: string;
}

export function formatBytes(n: number): string {
  return n < 1e6 ? `${(n / 1e3).toFixed(0)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 100) / 10;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** A file name that says what it is and when: backdrop-<what>-<date>-<time>.<ext>. */
export function stampedName(what: string, ext: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `backdrop-${what}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.${ext}`;
}

export function addResult(kind: 'image' | 'video', title: string, files: ResultFile[]): HTMLLIElement {
  $('#results-title', HTMLElement).hidden = false;
  const first = files[0];
  const previewUrl = URL.createObjectURL(first.blob);
  const preview = kind === 'image'
    ? el('img', { src: previewUrl, alt: title })
    : el('video', { src: previewUrl, muted: true, preload: 'auto', title: 'Hover to play' });
  if (preview instanceof HTMLVideoElement) {
    preview.addEventListener('mouseenter', () => void preview.play().catch(() => undefined));
    preview.addEventListener('mouseleave', () => preview.pause());
  }
  const links = files.map((f) => {
    const url = f === first ? previewUrl : URL.createObjectURL(f.blob);
    const a = el('a', { href: url, download: f.filename, textContent: `${f.label} (${formatBytes(f.blob.size)})` });
    a.dataset.kind = f.label;
    return a;
  });
  const item = el('li', {}, [preview, el('div', { className: 'what' }, [el('div', { textContent: title }), el('div', {}, links)])]);
  $('#results', HTMLUListElement).prepend(item);
  return item;
}
