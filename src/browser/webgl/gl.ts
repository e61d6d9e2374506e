/// <reference lib="dom" />
/**
 * Small WebGL2 helpers the stages share: compiling programs, render targets, and drawing a
 * full-screen triangle without any vertex buffer (positions come from gl_VertexID).
 *
 * Conventions: every texture and render target stores row 0 = the top of the picture, so stages
 * sample with `uv = gl_FragCoord.xy / outputSize` and never flip; only the last pass, into the
 * canvas, flips (the canvas shows row 0 at the bottom).
 */

export type GL = WebGL2RenderingContext;

export const FULLSCREEN_VS = `#version 300 es
void main() {
  // A triangle that covers the viewport: (-1,-1), (3,-1), (-1,3).
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

export interface Program {
  readonly program: WebGLProgram;
  uniform(name: string): WebGLUniformLocation | null;
  dispose(): void;
}

function compile(gl: GL, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type);
  if (!shader) throw new Error('WebGL: could not create a shader');
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost()) {
    const log = gl.getShaderInfoLog(shader);
    gl.deleteShader(shader);
    throw new Error(`WebGL: shader did not compile: ${log}`);
  }
  return shader;
}

/** Compiles and links a fragment shader with the full-screen vertex shader. */
export function createProgram(gl: GL, fragmentSource: string): Program {
  const vs = compile(gl, gl.VERTEX_SHADER, FULLSCREEN_VS);
  const fs = compile(gl, gl.FRAGMENT_SHADER, fragmentSource);
  const program = gl.createProgram();
  if (!program) throw new Error('WebGL: could not create a program');
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  gl.deleteShader(vs);
  gl.deleteShader(fs);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
    const log = gl.getProgramInfoLog(program);
    gl.deleteProgram(program);
    throw new Error(`WebGL: program did not link: ${log}`);
  }
  const locations = new Map<string, WebGLUniformLocation | null>();
  return {
    program,
    uniform(name) {
      let loc = locations.get(name);
      if (loc === undefined) {
        loc = gl.getUniformLocation(program, name);
        locations.set(name, loc);
      }
      return loc;
    },
    dispose: () => gl.deleteProgram(program),
  };
}

export type TargetFormat = 'rgba8' | 'rgba16f' | 'r8' | 'r16f';

function formatOf(gl: GL, format: TargetFormat): { internal: number; format: number; type: number } {
  switch (format) {
    case 'rgba8': return { internal: gl.RGBA8, format: gl.RGBA, type: gl.UNSIGNED_BYTE };
    case 'rgba16f': return { internal: gl.RGBA16F, format: gl.RGBA, type: gl.HALF_FLOAT };
    case 'r8': return { internal: gl.R8, format: gl.RED, type: gl.UNSIGNED_BYTE };
    case 'r16f': return { internal: gl.R16F, format: gl.RED, type: gl.HALF_FLOAT };
  }
}

export function createTexture(gl: GL, filter: number = gl.LINEAR): WebGLTexture {
  const texture = gl.createTexture();
  if (!texture) throw new Error('WebGL: could not create a texture');
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return texture;
}

/** A texture with a framebuffer around it, reallocated when its size changes. */
export class RenderTarget {
  readonly texture: WebGLTexture;
  readonly framebuffer: WebGLFramebuffer;
  width = 0;
  height = 0;

  constructor(
    private readonly gl: GL,
    readonly format: TargetFormat,
    filter: number = gl.LINEAR,
  ) {
    this.texture = createTexture(gl, filter);
    const fb = gl.createFramebuffer();
    if (!fb) throw new Error('WebGL: could not create a framebuffer');
    this.framebuffer = fb;
  }

  /** Makes the target width × height (no-op when it already is). */
  resize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    const { gl } = this;
    const f = formatOf(gl, this.format);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, f.internal, width, height, 0, f.format, f.type, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.texture, 0);
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
    if (status !== gl.FRAMEBUFFER_COMPLETE && !gl.isContextLost()) {
      throw new Error(`WebGL: ${this.format} render target ${width}×${height} is incomplete (0x${status.toString(16)})`);
    }
    this.width = width;
    this.height = height;
  }

  /** Binds the framebuffer and sets the viewport to it. */
  bind(): void {
    this.gl.bindFramebuffer(this.gl.FRAMEBUFFER, this.framebuffer);
    this.gl.viewport(0, 0, this.width, this.height);
  }

  dispose(): void {
    this.gl.deleteFramebuffer(this.framebuffer);
    this.gl.deleteTexture(this.texture);
  }
}

/** Binds `texture` to texture unit `unit` and points the sampler uniform at it. */
export function bindTexture(gl: GL, program: Program, name: string, texture: WebGLTexture, unit: number): void {
  gl.activeTexture(gl.TEXTURE0 + unit);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.uniform1i(program.uniform(name), unit);
}

/** Draws the full-screen triangle with the program in use. */
export function drawFullscreen(gl: GL): void {
  gl.drawArrays(gl.TRIANGLES, 0, 3);
}

/** Float render targets need EXT_color_buffer_float; without it, 8-bit targets are used. */
export function floatTargets(gl: GL): boolean {
  return gl.getExtension('EXT_color_buffer_float') !== null;
}

/**
 * Programs specialised with #define lines and compiled on first use. Software GL (SwiftShader)
 * runs both sides of a branch on a uniform, so each effect gets its own straight-line shader.
 */
export class ProgramVariants {
  private readonly programs = new Map<string, Program>();

  constructor(
    private readonly gl: GL,
    private readonly source: string,
  ) {}

  /** The program with these macro values, e.g. { EFFECT: 1, REFINE: 2 }. */
  get(defines: Record<string, number>): Program {
    const key = Object.entries(defines).map(([k, v]) => `${k}=${v}`).join(',');
    let program = this.programs.get(key);
    if (!program) {
      const header = Object.entries(defines).map(([k, v]) => `#define ${k} ${v}`).join('\n');
      program = createProgram(this.gl, this.source.replace(/^(#version[^\n]*\n)/, `$1${header}\n`));
      this.programs.set(key, program);
    }
    return program;
  }

  dispose(): void {
    this.programs.forEach((p) => p.dispose());
    this.programs.clear();
  }
}
