/// <reference lib="dom" />
/**
 * Stage (b): the low-resolution mask → the mask at the frame's size, evaluated per output pixel
 * inside the passes that need it (the composite at full size, the blur's downsample at low size),
 * so no full-size mask texture is ever written.
 *
 * 'bilateral': joint bilateral upsampling (Kopf et al. 2007), as core's `jointBilateralUpsample`:
 * the 4×4 mask taps around the pixel, weighted by a spatial Gaussian (mask pixels, sigmaSpace) and
 * a range Gaussian of the RGB distance (0..1, sigmaColor) between the pixel's colour and the
 * guide — the frame at the mask's size — at the tap. Only where the bilinear mask is between
 * 0.005 and 0.995 (near an edge): elsewhere the window is flat and the filter changes nothing, and
 * skipping it there is what makes the stage affordable on software GL. Windows whose taps lie
 * within 0.02 keep bilinear, as in core.
 * Then the soft threshold: smoothstep between threshold ± softness/2 (hard cut when softness is 0).
 * 'bilinear': bilinear, then the soft threshold. 'none': the raw bilinear probability.
 */
import type { RefineMode } from '../compositor.js';
import { bindTexture, createProgram, drawFullscreen, RenderTarget, type GL, type Program } from './gl.js';

/**
 * GLSL included by passes that need the mask: `refinedMask(uv, colour)`. The including shader
 * defines REFINE: 0 none, 1 bilinear + soft edge, 2 joint bilateral + soft edge.
 */
export const REFINE_GLSL = `
uniform sampler2D u_mask;
uniform sampler2D u_guide;
uniform float u_inv2ss;      // 1 / (2 sigmaSpace²)
uniform float u_inv2sc;      // 1 / (2 sigmaColor²)
uniform float u_e0;
uniform float u_e1;
uniform float u_threshold;
uniform bool u_invert;

#if REFINE == 2
float jointBilateral(vec2 uv, vec3 colour, float bilinear) {
  ivec2 msize = textureSize(u_mask, 0);
  vec2 s = uv * vec2(msize) - 0.5;
  ivec2 a = ivec2(floor(s));
  float sum = 0.0, wsum = 0.0, lo = 1.0, hi = 0.0;
  for (int j = -1; j <= 2; j++) {
    for (int i = -1; i <= 2; i++) {
      ivec2 t = clamp(a + ivec2(i, j), ivec2(0), msize - 1);
      float inside = (a.x + i == t.x && a.y + j == t.y) ? 1.0 : 0.0;
      float v = texelFetch(u_mask, t, 0).r;
      lo = min(lo, v);
      hi = max(hi, v);
      vec2 d = vec2(t) - s;
      vec3 dc = texelFetch(u_guide, t, 0).rgb - colour;
      float w = inside * exp(-dot(d, d) * u_inv2ss - dot(dc, dc) * u_inv2sc);
      sum += w * v;
      wsum += w;
    }
  }
  return (hi - lo >= 0.02 && wsum > 1e-12) ? sum / wsum : bilinear;
}
#endif

float refinedMask(vec2 uv, vec3 colour) {
  float m = clamp(texture(u_mask, uv).r, 0.0, 1.0);
#if REFINE == 2
  if (m > 0.005 && m < 0.995) m = jointBilateral(uv, colour, m);
#endif
#if REFINE != 0
  m = u_e1 > u_e0 ? smoothstep(u_e0, u_e1, m) : (m > u_threshold ? 1.0 : 0.0);
#endif
  return u_invert ? 1.0 - m : m;
}`;

/** The REFINE macro value for a mode. */
export function refineDefine(mode: RefineMode): number {
  return mode === 'bilateral' ? 2 : mode === 'bilinear' ? 1 : 0;
}

/** The frame at the mask's size, each pixel the mean of a 2×2 grid of bilinear taps (≈ an area average). */
const GUIDE_FS = `#version 300 es
precision highp float;
uniform sampler2D u_frame;
uniform vec2 u_size;
out vec4 outColor;
void main() {
  vec2 uv = gl_FragCoord.xy / u_size;
  vec2 q = 0.25 / u_size;
  vec3 c = texture(u_frame, uv + vec2(-q.x, -q.y)).rgb + texture(u_frame, uv + vec2(q.x, -q.y)).rgb
         + texture(u_frame, uv + vec2(-q.x, q.y)).rgb + texture(u_frame, uv + vec2(q.x, q.y)).rgb;
  outColor = vec4(c * 0.25, 1.0);
}`;

export interface RefineParams {
  mode: RefineMode;
  threshold: number;
  softness: number;
  sigmaSpace: number;
  sigmaColor: number;
  invert: boolean;
}

export class RefineStage {
  private readonly guideProgram: Program;
  private readonly guide: RenderTarget;

  constructor(private readonly gl: GL) {
    this.guideProgram = createProgram(gl, GUIDE_FS);
    this.guide = new RenderTarget(gl, 'rgba8', gl.NEAREST);
  }

  /**
   * Renders the guide (the frame at the mask's size) and returns it. Only needed when no frame at
   * that size exists already — the model's input is one when the model's input and output sizes match.
   */
  renderGuide(frame: WebGLTexture, maskWidth: number, maskHeight: number): WebGLTexture {
    const { gl } = this;
    this.guide.resize(maskWidth, maskHeight);
    this.guide.bind();
    gl.useProgram(this.guideProgram.program);
    bindTexture(gl, this.guideProgram, 'u_frame', frame, 0);
    gl.uniform2f(this.guideProgram.uniform('u_size'), maskWidth, maskHeight);
    drawFullscreen(gl);
    return this.guide.texture;
  }

  /** Points a program that includes REFINE_GLSL at the mask and guide, and sets its parameters (the mode is the program's REFINE macro). */
  bind(program: Program, maskUnit: number, guideUnit: number, mask: WebGLTexture, guide: WebGLTexture, p: RefineParams): void {
    const { gl } = this;
    bindTexture(gl, program, 'u_mask', mask, maskUnit);
    bindTexture(gl, program, 'u_guide', guide, guideUnit);
    gl.uniform1f(program.uniform('u_inv2ss'), 1 / (2 * p.sigmaSpace * p.sigmaSpace));
    gl.uniform1f(program.uniform('u_inv2sc'), 1 / (2 * p.sigmaColor * p.sigmaColor));
    gl.uniform1f(program.uniform('u_e0'), Math.max(0, p.threshold - p.softness / 2));
    gl.uniform1f(program.uniform('u_e1'), Math.min(1, p.threshold + p.softness / 2));
    gl.uniform1f(program.uniform('u_threshold'), p.threshold);
    gl.uniform1i(program.uniform('u_invert'), p.invert ? 1 : 0);
  }

  dispose(): void {
    this.guideProgram.dispose();
    this.guide.dispose();
  }
}
