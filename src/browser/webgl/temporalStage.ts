/// <reference lib="dom" />
/**
 * Stage (c): temporal smoothing of the model's mask, at the model's resolution, each time a new
 * mask arrives. MediaPipe's uncertainty-weighted blend: a pixel the new mask is sure about (near 0
 * or 1) follows it at once; an unsure one (near 0.5) keeps up to `ratio` of the previous value.
 * This damps edge flicker without making moving people leave ghosts. Two targets ping-pong.
 */
import { bindTexture, createProgram, drawFullscreen, RenderTarget, type GL, type Program, type TargetFormat } from './gl.js';

const FS = `#version 300 es
precision highp float;
uniform sampler2D u_current;
uniform sampler2D u_previous;
uniform float u_ratio;
out vec4 outColor;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  float cur = clamp(texelFetch(u_current, p, 0).r, 0.0, 1.0);
  float prev = texelFetch(u_previous, p, 0).r;
  // 1 − binary entropy of the new value: 1 when sure, 0 at p = 0.5.
  const float eps = 1e-6;
  float certainty = 1.0 + (cur * log(cur + eps) + (1.0 - cur) * log(1.0 - cur + eps)) / log(2.0);
  certainty = clamp(certainty, 0.0, 1.0);
  certainty *= 2.0 - certainty;
  float mixed = mix(prev, cur, certainty);
  outColor = vec4(mix(cur, mixed, u_ratio), 0.0, 0.0, 1.0);
}`;

export class TemporalStage {
  private readonly program: Program;
  private readonly targets: [RenderTarget, RenderTarget];
  private current = 0;
  private hasPrevious = false;

  constructor(
    private readonly gl: GL,
    format: TargetFormat,
  ) {
    this.program = createProgram(gl, FS);
    this.targets = [new RenderTarget(gl, format), new RenderTarget(gl, format)];
  }

  /** Forgets the previous mask (a new stream, a jump in time). */
  reset(): void {
    this.hasPrevious = false;
  }

  /**
   * Blends the new mask with the previous output and returns the texture holding the result
   * (valid until the next call). Runs even with ratio 0, so the history stays current.
   */
  render(mask: WebGLTexture, width: number, height: number, ratio: number): WebGLTexture {
    const { gl } = this;
    const prev = this.targets[this.current];
    const next = this.targets[1 - this.current];
    if (prev.width !== width || prev.height !== height) this.hasPrevious = false;
    prev.resize(width, height);
    next.resize(width, height);
    next.bind();
    gl.useProgram(this.program.program);
    bindTexture(gl, this.program, 'u_current', mask, 0);
    bindTexture(gl, this.program, 'u_previous', prev.texture, 1);
    gl.uniform1f(this.program.uniform('u_ratio'), this.hasPrevious ? ratio : 0);
    drawFullscreen(gl);
    this.current = 1 - this.current;
    this.hasPrevious = true;
    return next.texture;
  }

  dispose(): void {
    this.program.dispose();
    this.targets.forEach((t) => t.dispose());
  }
}
