/// <reference lib="dom" />
/**
 * What draws WebGL here: a GPU, or a software renderer (SwiftShader, llvmpipe…). On software
 * rendering every full-size pass costs CPU time, so the processor picks cheaper edges there.
 */

export interface GraphicsInfo {
  /** Whether a WebGL2 context can be had. */
  webgl2: boolean;
  /** The renderer string (unmasked where the browser allows). */
  renderer: string;
  /** True for software renderers, and when there is no WebGL2 at all (the canvas-2D fallback draws on the CPU). */
  software: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

let cached: GraphicsInfo | undefined;

/** Probes once per page with a throw-away context. */
export function graphicsInfo(): GraphicsInfo {
  if (cached) return cached;
  let gl: WebGL2RenderingContext | null = null;
  try {
    const canvas = typeof document !== 'undefined' ? document.createElement('canvas') : new OffscreenCanvas(1, 1);
    gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
  } catch {
    gl = null;
  }
  if (!gl) return (cached = { webgl2: false, renderer: 'none', software: true });
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? 'unknown');
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return (cached = { webgl2: true, renderer, software: SOFTWARE.test(renderer) });
}
