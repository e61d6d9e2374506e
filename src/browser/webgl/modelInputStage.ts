/// <reference lib="dom" />
/**
 * The frame stretched to the model's input size with bilinear, half-pixel, edge-clamped sampling
 * (what GL_LINEAR does, and what MediaPipe's ImageToTensor does), read back as RGBA bytes for the
 * segmenter. Small (e.g. 256×256), so the read-back is cheap. The same small picture is the joint
 * bilateral filter's guide when the mask has the model's input size.
 *
 * For ROI zoom, a crop of the frame is stretched instead: output pixel d samples the frame at
 * crop.x + (d + 0.5) · crop.width / width (frame pixels), as core's frameToTensor does, so the
 * crop's texture coordinates are an offset and a scale of the whole frame's.
 */
import type { Frame, Rect } from '../../core/frame.js';
import { bindTexture, createProgram, drawFullscreen, RenderTarget, type GL, type Program } from './gl.js';

const FS = `#version 300 es
precision highp float;
uniform sampler2D u_frame;
uniform vec2 u_size;
// The crop in texture coordinates: its top-left corner and its size (0,0 and 1,1: the whole frame).
uniform vec2 u_origin;
uniform vec2 u_scale;
out vec4 outColor;
void main() {
  outColor = vec4(texture(u_frame, u_origin + gl_FragCoord.xy / u_size * u_scale).rgb, 1.0);
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

  /**
   * Draws the frame texture (frameWidth × frameHeight), or its `crop` (frame pixels), at
   * width × height.
   */
  render(frame: WebGLTexture, frameWidth: number, frameHeight: number, width: number, height: number, crop?: Rect): void {
    const { gl } = this;
    const { x, y, width: cw, height: ch } = crop ?? { x: 0, y: 0, width: frameWidth, height: frameHeight };
    this.target.resize(width, height);
    this.target.bind();
    gl.useProgram(this.program.program);
    bindTexture(gl, this.program, 'u_frame', frame, 0);
    gl.uniform2f(this.program.uniform('u_size'), width, height);
    gl.uniform2f(this.program.uniform('u_origin'), x / frameWidth, y / frameHeight);
    gl.uniform2f(this.program.uniform('u_scale'), cw / frameWidth, ch / frameHeight);
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
