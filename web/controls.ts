/// <reference lib="dom" />
/**
 * The settings panel: effect, blur strength, colour, model, threshold, softness, smoothing, edges
 * and ROI zoom.
 * Reads the form into Settings and reports which setting changed; the app turns Settings into the
 * processor's options.
 */
import type { BuiltinModel } from '../src/core/modelSpec.js';
import type { BackgroundProcessorOptions, BrowserEffect, CompositorOptions, RoiMode } from '../src/browser/index.js';
import { $ } from './dom.js';

export type EffectName = 'none' | 'blur' | 'image' | 'color' | 'transparent';
export const EFFECTS: readonly EffectName[] = ['none', 'blur', 'image', 'color', 'transparent'];

export interface Settings {
  effect: EffectName;
  blur: number;
  color: string;
  model: BuiltinModel;
  threshold: number;
  softness: number;
  smoothing: number;
  /** How the mask's edge is refined: 'auto' picks by the graphics (see edgeMode). */
  edges: 'auto' | 'bilateral' | 'bilinear';
  /** ROI zoom: 'auto' (the box ticked, the default) gives a person far away a closer look. */
  roi: RoiMode;
}

export type SettingName = keyof Settings;

const RANGES = ['blur', 'threshold', 'softness', 'smoothing'] as const;

/** '#rrggbb' → [r, g, b, 255]. */
export function hexToRgba(hex: string): [number, number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return [0, 177, 64, 255];
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16), 255];
}

export class Controls {
  private listener: (name: SettingName) => void = () => undefined;

  constructor() {
    for (const radio of this.radios()) radio.addEventListener('change', () => this.listener('effect'));
    for (const name of RANGES) {
      const input = $(`#${name}`, HTMLInputElement);
      input.addEventListener('input', () => {
        this.showValue(name);
        this.listener(name);
      });
      this.showValue(name);
    }
    $('#color', HTMLInputElement).addEventListener('input', () => {
      this.listener('color');
    });
    $('#model', HTMLSelectElement).addEventListener('change', () => this.listener('model'));
    $('#edges', HTMLSelectElement).addEventListener('change', () => this.listener('edges'));
    $('#roi', HTMLInputElement).addEventListener('change', () => this.listener('roi'));
  }

  onChange(listener: (name: SettingName) => void): void {
    this.listener = listener;
  }

  private radios(): HTMLInputElement[] {
    return Array.from(document.querySelectorAll<HTMLInputElement>('input[name="effect"]'));
  }

  private showValue(name: (typeof RANGES)[number]): void {
    const value = Number($(`#${name}`, HTMLInputElement).value);
    $(`#${name}-value`, HTMLOutputElement).value = name === 'blur' ? String(value) : value.toFixed(2);
  }

  get settings(): Settings {
    const effect = (this.radios().find((r) => r.checked)?.value ?? 'blur') as EffectName;
    return {
      effect,
      blur: Number($('#blur', HTMLInputElement).value),
      color: $('#color', HTMLInputElement).value,
      model: $('#model', HTMLSelectElement).value as BuiltinModel,
      threshold: Number($('#threshold', HTMLInputElement).value),
      softness: Number($('#softness', HTMLInputElement).value),
      smoothing: Number($('#smoothing', HTMLInputElement).value),
      edges: $('#edges', HTMLSelectElement).value as Settings['edges'],
      roi: $('#roi', HTMLInputElement).checked ? 'auto' : 'off',
    };
  }

  /** Sets the effect as if the user had picked it (reports the change). */
  setEffect(effect: EffectName): void {
    const radio = this.radios().find((r) => r.value === effect);
    if (!radio || radio.checked) return;
    radio.checked = true;
    this.listener('effect');
  }

  /** Puts the model select back (after a model failed to load), without reporting a change. */
  setModel(model: BuiltinModel): void {
    $('#model', HTMLSelectElement).value = model;
  }
}

/**
 * The edge refinement for a setting: 'auto' is the processor's own default — the joint bilateral
 * filter (edges follow the picture) on a GPU, plain bilinear + soft edge on software rendering.
 */
export function edgeMode(edges: Settings['edges'], softwareGraphics: boolean): 'bilateral' | 'bilinear' {
  if (edges !== 'auto') return edges;
  return softwareGraphics ? 'bilinear' : 'bilateral';
}

/** The compositor options for these settings; `image` is the selected background picture, if any. */
export function compositorOptions(s: Settings, image: ImageBitmap | undefined, softwareGraphics = false): Partial<CompositorOptions> {
  let effect: BrowserEffect;
  switch (s.effect) {
    case 'none':
      effect = { type: 'none' };
      break;
    case 'blur':
      effect = { type: 'blur', strength: s.blur };
      break;
    case 'image':
      // Until the gallery has loaded, a neutral grey stands in.
      effect = image ? { type: 'image', image, fit: 'cover' } : { type: 'color', color: [60, 63, 68, 255] };
      break;
    case 'color':
      effect = { type: 'color', color: hexToRgba(s.color) };
      break;
    case 'transparent':
      effect = { type: 'transparent', checkerboard: true };
      break;
  }
  return { effect, threshold: s.threshold, softness: s.softness, smoothing: s.smoothing, refine: edgeMode(s.edges, softwareGraphics) };
}

/** The processor options for these settings: the compositor's, and ROI zoom. */
export function processorOptions(s: Settings, image: ImageBitmap | undefined, softwareGraphics = false): Partial<BackgroundProcessorOptions> {
  return { ...compositorOptions(s, image, softwareGraphics), roi: s.roi };
}
