/// <reference lib="dom" />
/**
 * Stage (f): the final picture, the one full-resolution pass, drawn into the canvas: the mask
 * refined at this pixel (stage b's GLSL), then the person from the frame over the background —
 * out = mix(background, frame, mask) — with light wrapping for image and colour backgrounds:
 * k = lightWrap · m · (1 − b), b = the mask blurred at low resolution (stage d),
 * out = mix(out, background, k). 'transparent' writes alpha = mask (or draws over the
 * checkerboard); 'mask' writes the mask as grey. Each combination is its own compiled variant.
 */
import type { RGBA } from '../../core/color.js';
import type { Fit } from '../../core/resize.js';
import { BACKGROUND_GLSL, backgroundDefine, type BackgroundKind, type BackgroundStage } from './backgroundStage.js';
import { bindTexture, drawFullscreen, ProgramVariants, type GL } from './gl.js';
import { REFINE_GLSL, refineDefine, type RefineParams, type RefineStage } from './refineStage.js';

const FS = `#version 300 es
// EFFECT: 0 none, 1 blur, 2 replace (image/colour/checkerboard), 3 transparent, 4 mask
// LIGHT_WRAP: 0 or 1 (EFFECT 2 only)
precision highp float;
uniform sampler2D u_frame;
uniform sampler2D u_blur;
uniform vec2 u_size;
uniform bool u_flip;
uniform float u_lightWrap;
out vec4 outColor;
${REFINE_GLSL}
${BACKGROUND_GLSL}
void main() {
  vec2 pixel = vec2(gl_FragCoord.x, u_flip ? u_size.y - gl_FragCoord.y : gl_FragCoord.y);
  vec2 uv = pixel / u_size;
  vec3 f = texture(u_frame, uv).rgb;
#if EFFECT == 0
  outColor = vec4(f, 1.0);
#else
  float m = refinedMask(uv, f);
#if EFFECT == 4
  outColor = vec4(vec3(m), 1.0);
#elif EFFECT == 3
  outColor = vec4(f, m);
#else
#if EFFECT == 1
  vec4 b = texture(u_blur, uv);
  vec3 bg = b.a > 1e-4 ? b.rgb / b.a : f;
#else
  vec3 bg = background(uv, pixel, f);
#endif
  vec3 c = mix(bg, f, m);
#if EFFECT == 2 && LIGHT_WRAP == 1
  float blurred = 1.0 - texture(u_blur, uv).a;
  c = mix(c, bg, clamp(u_lightWrap * m * (1.0 - blurred), 0.0, 1.0));
#endif
  outColor = vec4(c, 1.0);
#endif
#endif
}`;

export type CompositeMode = 'none' | 'blur' | 'replace' | 'transparent' | 'mask';

const MODE_CODE: Record<CompositeMode, number> = { none: 0, blur: 1, replace: 2, transparent: 3, mask: 4 };

export interface CompositeParams {
  mode: CompositeMode;
  lightWrap: number;
  background: BackgroundKind;
  color: RGBA;
  fit: Fit;
  refine: RefineParams;
}

export class CompositeStage {
  private readonly variants: ProgramVariants;

  constructor(private readonly gl: GL) {
    this.variants = new ProgramVariants(gl, FS);
  }

  /**
   * Draws into the bound framebuffer (width × height); `flip` for the canvas, whose row 0 is the
   * bottom. `blur` is the blur stage's output (blur effect, or the light-wrap mask blur).
   */
  render(
    frame: WebGLTexture, refine: RefineStage, mask: WebGLTexture, guide: WebGLTexture, blur: WebGLTexture,
    background: BackgroundStage, width: number, height: number, flip: boolean, p: CompositeParams,
  ): void {
    const { gl } = this;
    const lightWrap = p.mode === 'replace' && p.background !== 'checkerboard' && p.lightWrap > 0;
    const program = this.variants.get({
      EFFECT: MODE_CODE[p.mode],
      REFINE: p.mode === 'none' ? 0 : refineDefine(p.refine.mode),
      BACKGROUND: p.mode === 'replace' ? backgroundDefine(p.background) : 0,
      LIGHT_WRAP: lightWrap ? 1 : 0,
    });
    gl.viewport(0, 0, width, height);
    gl.useProgram(program.program);
    bindTexture(gl, program, 'u_frame', frame, 0);
    refine.bind(program, 1, 2, mask, guide, p.refine);
    bindTexture(gl, program, 'u_blur', blur, 3);
    background.bind(program, 4, p.background, width, height, p.color, p.fit);
    gl.uniform2f(program.uniform('u_size'), width, height);
    gl.uniform1i(program.uniform('u_flip'), flip ? 1 : 0);
    gl.uniform1f(program.uniform('u_lightWrap'), p.lightWrap);
    drawFullscreen(gl);
  }

  dispose(): void {
    this.variants.dispose();
  }
}
