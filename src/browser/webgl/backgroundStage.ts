/// <reference lib="dom" />
/**
 * Stage (e): what replaces the background — an image (uploaded once when it changes, fitted with
 * cover / contain / stretch by a texture-coordinate transform, no resampling pass), a colour, or
 * the checkerboard that shows transparency. It owns the image texture and sets the composite
 * shader's background uniforms; the per-pixel work happens inside the composite pass.
 */
import type { Fit } from '../../core/resize.js';
import { sourceSize } from '../compositor.js';
import { bindTexture, createTexture, type GL, type Program } from './gl.js';

/**
 * GLSL the composite shader includes: `background(uv, pixel, frameColour)`. The including shader
 * defines BACKGROUND: 0 colour, 1 image, 2 checkerboard.
 */
export const BACKGROUND_GLSL = `
uniform vec4 u_bgColor;        // 0..1, straight alpha
uniform sampler2D u_bgImage;
uniform vec2 u_bgScale;
uniform vec2 u_bgOffset;
vec3 background(vec2 uv, vec2 pixel, vec3 original) {
#if BACKGROUND == 1
  vec2 t = u_bgOffset + uv * u_bgScale;
  if (t.x < 0.0 || t.y < 0.0 || t.x > 1.0 || t.y > 1.0) return vec3(0.0);
  vec4 c = texture(u_bgImage, t);
  return mix(original, c.rgb, c.a);
#elif BACKGROUND == 2
  vec2 cell = floor(pixel / 16.0);
  return mod(cell.x + cell.y, 2.0) < 1.0 ? vec3(0.8) : vec3(0.6);
#else
  return mix(original, u_bgColor.rgb, u_bgColor.a);
#endif
}`;

/** The BACKGROUND macro value for a kind. */
export function backgroundDefine(kind: BackgroundKind): number {
  return kind === 'image' ? 1 : kind === 'checkerboard' ? 2 : 0;
}

export type BackgroundKind = 'color' | 'image' | 'checkerboard';

export class BackgroundStage {
  private readonly texture: WebGLTexture;
  private image: TexImageSource | undefined;
  private imageWidth = 0;
  private imageHeight = 0;

  constructor(private readonly gl: GL) {
    this.texture = createTexture(gl, gl.LINEAR);
  }

  /** Uploads the picture when it is a different object from the last one. */
  setImage(image: TexImageSource): void {
    if (image === this.image) return;
    const { gl } = this;
    const { width, height } = sourceSize(image);
    if (!(width > 0 && height > 0)) throw new RangeError('the background image has no size (not loaded yet?)');
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.BROWSER_DEFAULT_WEBGL);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, image);
    this.image = image;
    this.imageWidth = width;
    this.imageHeight = height;
  }

  /** Sets the composite program's background uniforms for an output of width × height (the kind is its BACKGROUND macro). */
  bind(program: Program, unit: number, kind: BackgroundKind, width: number, height: number, color: readonly number[], fit: Fit): void {
    const { gl } = this;
    gl.uniform4f(program.uniform('u_bgColor'), color[0] / 255, color[1] / 255, color[2] / 255, (color[3] ?? 255) / 255);
    bindTexture(gl, program, 'u_bgImage', this.texture, unit);
    let sx = 1, sy = 1;
    if (kind === 'image' && fit !== 'stretch' && this.imageWidth > 0) {
      const scale = fit === 'cover'
        ? Math.max(width / this.imageWidth, height / this.imageHeight)
        : Math.min(width / this.imageWidth, height / this.imageHeight);
      sx = width / (this.imageWidth * scale);
      sy = height / (this.imageHeight * scale);
    }
    gl.uniform2f(program.uniform('u_bgScale'), sx, sy);
    gl.uniform2f(program.uniform('u_bgOffset'), (1 - sx) / 2, (1 - sy) / 2);
  }

  dispose(): void {
    this.gl.deleteTexture(this.texture);
    this.image = undefined;
  }
}
