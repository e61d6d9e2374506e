/// <reference lib="dom" />
/**
 * Stage (d): the background blurred at low resolution, weighted by (1 − mask), so the person's
 * colours do not bleed into it (no halo) — core's `blurBackground` on the GPU.
 *
 * 1. Downsample: each low-res pixel = mean over its footprint (2×2 bilinear taps) of
 *    (rgb·w, w), w = max(floor, 1 − mask), the mask refined at this size (bilinear + soft edge).
 * 2. Separable Gaussian, horizontal then vertical, at the low resolution; tap pairs share one
 *    bilinear fetch (11 fetches per pass for sigma 3), edges clamped.
 * The composite divides rgb by w. Alpha alone is the blurred background weight, so the same stage
 * also gives light wrapping its blurred mask (b = 1 − alpha).
 *
 * The working size follows core: the frame is shrunk until sigma is ≈ 3 px there (never below 64 px
 * on the short side) — about 1/4 of 640×360 for strength 50.
 */
import { bindTexture, createProgram, drawFullscreen, ProgramVariants, RenderTarget, type GL, type Program, type TargetFormat } from './gl.js';
import { REFINE_GLSL, type RefineParams, type RefineStage } from './refineStage.js';

const MAX_PAIRS = 16;

const DOWN_FS = `#version 300 es
precision highp float;
uniform sampler2D u_frame;
uniform vec2 u_size;
uniform float u_floor;
out vec4 outColor;
${REFINE_GLSL}
vec4 tap(vec2 uv) {
  float w = max(u_floor, 1.0 - refinedMask(uv, vec3(0.0)));
  return vec4(texture(u_frame, uv).rgb * w, w);
}
void main() {
  vec2 uv = gl_FragCoord.xy / u_size;
  vec2 q = 0.25 / u_size;
  outColor = 0.25 * (tap(uv + vec2(-q.x, -q.y)) + tap(uv + vec2(q.x, -q.y)) + tap(uv + vec2(-q.x, q.y)) + tap(uv + vec2(q.x, q.y)));
}`;

const GAUSS_FS = `#version 300 es
precision highp float;
uniform sampler2D u_src;
uniform vec2 u_step;              // one texel along the pass's axis, in uv
uniform float u_center;
uniform float u_offsets[${MAX_PAIRS}];
uniform float u_weights[${MAX_PAIRS}];
uniform int u_pairs;
out vec4 outColor;
void main() {
  vec2 uv = gl_FragCoord.xy / vec2(textureSize(u_src, 0));
  vec4 sum = u_center * texture(u_src, uv);
  for (int k = 0; k < ${MAX_PAIRS}; k++) {
    if (k >= u_pairs) break;
    vec2 d = u_step * u_offsets[k];
    sum += u_weights[k] * (texture(u_src, uv + d) + texture(u_src, uv - d));
  }
  outColor = sum;
}`;

/**
 * Low-res working size and the sigma there, for a blur of `sigmaFull` full-resolution pixels:
 * shrunk until the sigma is about `targetSigma` px, the short side never below 64 px.
 */
export function blurWorkingSize(width: number, height: number, sigmaFull: number, targetSigma = 3): { width: number; height: number; sigma: number } {
  const factor = Math.max(1, Math.min(sigmaFull / targetSigma, Math.min(width, height) / 64));
  const w = Math.max(1, Math.round(width / factor));
  const h = Math.max(1, Math.round(height / factor));
  return { width: w, height: h, sigma: sigmaFull / Math.sqrt((width / w) * (height / h)) };
}

/**
 * A normalised Gaussian as a centre weight plus pairs of taps merged for bilinear fetching: taps
 * k and k+1 (weights a, b) become one fetch at (k·a + (k+1)·b)/(a + b) with weight a + b.
 */
export function gaussianPairs(sigma: number, offsets: Float32Array, weights: Float32Array): { center: number; pairs: number } {
  const radius = Math.min(2 * offsets.length, Math.max(1, Math.ceil(3 * sigma)));
  const g = (k: number) => (k > radius ? 0 : Math.exp((-k * k) / (2 * sigma * sigma)));
  let total = g(0);
  for (let k = 1; k <= radius; k++) total += 2 * g(k);
  let pairs = 0;
  for (let k = 1; k <= radius; k += 2, pairs++) {
    const a = g(k), b = g(k + 1);
    weights[pairs] = (a + b) / total;
    offsets[pairs] = (k * a + (k + 1) * b) / (a + b);
  }
  return { center: g(0) / total, pairs };
}

export class BlurStage {
  private readonly down: ProgramVariants;
  private readonly gauss: Program;
  private readonly a: RenderTarget;
  private readonly b: RenderTarget;
  private readonly offsets = new Float32Array(MAX_PAIRS);
  private readonly weights = new Float32Array(MAX_PAIRS);
  private kernelSigma = -1;
  private kernel = { center: 1, pairs: 0 };

  constructor(
    private readonly gl: GL,
    format: TargetFormat,
  ) {
    this.down = new ProgramVariants(gl, DOWN_FS);
    this.gauss = createProgram(gl, GAUSS_FS);
    this.a = new RenderTarget(gl, format);
    this.b = new RenderTarget(gl, format);
  }

  /**
   * Blurs frame·(1 − mask) with a Gaussian of `sigmaFull` full-res px; returns the low-res
   * (rgb·w, w) texture. `mask` and `guide` are the low-res mask and guide the refine stage binds.
   * `targetSigma`: the sigma at the working size (3 for the background; smaller, so a smaller
   * working size, is enough when only the blurred mask is wanted).
   */
  render(
    frame: WebGLTexture, refine: RefineStage, mask: WebGLTexture, guide: WebGLTexture, params: RefineParams,
    width: number, height: number, sigmaFull: number, targetSigma = 3, mark?: (stage: string) => void,
  ): WebGLTexture {
    const { gl, a, b } = this;
    const work = blurWorkingSize(width, height, sigmaFull, targetSigma);
    a.resize(work.width, work.height);
    b.resize(work.width, work.height);

    a.bind();
    // The mask at this size: bilinear + soft edge is as good as the bilateral filter once blurred.
    const down = this.down.get({ REFINE: params.mode === 'none' ? 0 : 1 });
    gl.useProgram(down.program);
    bindTexture(gl, down, 'u_frame', frame, 0);
    refine.bind(down, 1, 2, mask, guide, params);
    gl.uniform2f(down.uniform('u_size'), work.width, work.height);
    gl.uniform1f(down.uniform('u_floor'), 1e-3);
    drawFullscreen(gl);
    mark?.('blurDownsample');

    if (work.sigma !== this.kernelSigma) {
      this.kernel = gaussianPairs(Math.max(1e-3, work.sigma), this.offsets, this.weights);
      this.kernelSigma = work.sigma;
    }
    const g = this.gauss;
    gl.useProgram(g.program);
    gl.uniform1f(g.uniform('u_center'), this.kernel.center);
    gl.uniform1fv(g.uniform('u_offsets'), this.offsets);
    gl.uniform1fv(g.uniform('u_weights'), this.weights);
    gl.uniform1i(g.uniform('u_pairs'), this.kernel.pairs);
    b.bind();
    bindTexture(gl, g, 'u_src', a.texture, 0);
    gl.uniform2f(g.uniform('u_step'), 1 / work.width, 0);
    drawFullscreen(gl);
    a.bind();
    bindTexture(gl, g, 'u_src', b.texture, 0);
    gl.uniform2f(g.uniform('u_step'), 0, 1 / work.height);
    drawFullscreen(gl);
    mark?.('blurGaussian');
    return a.texture;
  }

  dispose(): void {
    this.down.dispose();
    this.gauss.dispose();
    this.a.dispose();
    this.b.dispose();
  }
}
