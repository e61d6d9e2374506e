/// <reference lib="dom" />
/**
 * The frame on the GPU: the one texture upload per frame. Takes a VideoFrame, <video>, image,
 * canvas, ImageData or a core Frame (RGB/RGBA bytes), unflipped and unpremultiplied.
 */
import { isCoreFrame, sourceSize, type FrameSource } from '../compositor.js';
import { createTexture, type GL } from './gl.js';

export class FrameStage {
  readonly texture: WebGLTexture;
  width = 0;
  height = 0;

  constructor(private readonly gl: GL) {
    this.texture = createTexture(gl, gl.LINEAR);
  }

  upload(source: FrameSource): void {
    const { gl } = this;
    const { width, height } = sourceSize(source);
    if (!(width > 0 && height > 0)) throw new RangeError(`frame has no size (${width}×${height})`);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    if (isCoreFrame(source)) {
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      const format = source.channels === 4 ? gl.RGBA : gl.RGB;
      const internal = source.channels === 4 ? gl.RGBA8 : gl.RGB8;
      const data = source.data instanceof Uint8Array ? source.data : new Uint8Array(source.data.buffer, source.data.byteOffset, source.data.byteLength);
      gl.texImage2D(gl.TEXTURE_2D, 0, internal, width, height, 0, format, gl.UNSIGNED_BYTE, data);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    } else {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
    }
    this.width = width;
    this.height = height;
  }

  dispose(): void {
    this.gl.deleteTexture(this.texture);
  }
}
