/// <reference lib="dom" />
/**
 * Picks the compositor: WebGL2 when the browser gives a context, else the canvas-2D fallback.
 */
import { Canvas2DCompositor } from './canvas2dCompositor.js';
import type { Compositor, CompositorOptions } from './compositor.js';
import { WebGLCompositor } from './webgl/webglCompositor.js';

export type CompositorKind = 'auto' | 'webgl2' | 'canvas2d';

export interface CreateCompositorOptions {
  /** 'auto' (default): WebGL2 if available, else canvas 2D. 'webgl2' throws when WebGL2 is missing. */
  kind?: CompositorKind;
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  options?: Partial<CompositorOptions>;
  /** WebGL2 only: half-float intermediate targets (see WebGLCompositorOptions). */
  floatTargets?: boolean;
}

export interface CreatedCompositor {
  compositor: Compositor;
  /** Why the canvas-2D fallback was used, when it was. */
  fallbackReason?: string;
}

export function createCompositor(options: CreateCompositorOptions = {}): CreatedCompositor {
  const kind = options.kind ?? 'auto';
  if (kind !== 'auto' && kind !== 'webgl2' && kind !== 'canvas2d') {
    throw new RangeError(`compositor must be "auto", "webgl2" or "canvas2d", got ${JSON.stringify(kind)}`);
  }
  if (kind === 'canvas2d') return { compositor: new Canvas2DCompositor(options) };
  try {
    return { compositor: new WebGLCompositor(options) };
  } catch (e) {
    if (kind === 'webgl2') throw e;
    // A canvas that tried WebGL cannot give a 2D context: the fallback draws into its own canvas
    // unless the caller's canvas is still unused.
    const reason = (e as Error).message;
    try {
      return { compositor: new Canvas2DCompositor(options), fallbackReason: reason };
    } catch {
      return { compositor: new Canvas2DCompositor({ options: options.options }), fallbackReason: reason };
    }
  }
}
