/// <reference lib="dom" />
/**
 * The frame stretched to the model's input size with bilinear, half-pixel, edge-clamped sampling
 * (what GL_LINEAR does, and what MediaPipe's ImageToTensor does), read back as RGBA bytes for the
 * segmenter. Small (e.g. 256×256), so the read-back is cheap. The same small picture is the joint
 * bilateral filter's guide when the mask has the model's input size.
 */
import type { Frame } from '../../core/frame.js';
import { bindTexture, createProgram, drawFullscreen, RenderTarget, type GL, type Program } from './gl.js';

const FS = `#version 300 es
precision highp float;
uniform sampler2D u_frame;
uniform vec2 u_size;
out vec4 outColor;
void main() {
  outColor = vec4(texture(u_frame, gl_FragCoord.xy / u_size).rgb, 1.0);
}`;

export class ModelInputStage {
  private readonly program: Program;
  private readonly target: RenderTarget;
  private pixels = new Uint8Array(0);

  constructor(private readonly gl: GL) {
    this.program = createProgram(gl, FS);
    this.target = new RenderTarget(gl, 'rgba8');
  }

  get texture(): WebGLTexture {
    return this.target.texture;
  }

  get width(): number {
    return this.target.width;
  }

  get height(): number {
    return this.target.height;
  }

  render(frame: WebGLTexture, width: number, height: number): void {
    const { gl } = this;
    this.target.resize(width, height);
    this.target.bind();
    gl.useProgram(this.program.program);
    bindTexture(gl, this.program, 'u_frame', frame, 0);
    gl.uniform2f(this.program.uniform('u_size'), width, height);
    drawFullscreen(gl);
  }

  /** The last render's pixels, RGBA, top row first. The returned frame's buffer is reused. */
  read(): Frame {
    const { gl, target } = this;
    const n = target.width * target.height * 4;
    if (this.pixels.length !== n) this.pixels = new Uint8Array(n);
    gl.bindFramebuffer(gl.FRAMEBUFFER, target.framebuffer);
    gl.readPixels(0, 0, target.width, target.height, gl.RGBA, gl.UNSIGNED_BYTE, this.pixels);
    return { width: target.width, height: target.height, channels: 4, data: this.pixels };
  }

  dispose(): void {
    this.program.dispose();
    this.target.dispose();
  }
}
