/// <reference lib="dom" />
/**
 * Stage (a): the model's low-resolution mask (e.g. 256×256 floats) uploaded as a half-float
 * texture; linear filtering gives the plain bilinear upsample for free.
 */
import type { Mask } from '../../core/frame.js';
import { createTexture, type GL } from './gl.js';

export class MaskStage {
  readonly texture: WebGLTexture;
  width = 0;
  height = 0;

  constructor(private readonly gl: GL) {
    this.texture = createTexture(gl, gl.LINEAR);
  }

  upload(mask: Mask): void {
    const { gl } = this;
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    if (mask.width === this.width && mask.height === this.height) {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, mask.width, mask.height, gl.RED, gl.FLOAT, mask.data);
    } else {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16F, mask.width, mask.height, 0, gl.RED, gl.FLOAT, mask.data);
      this.width = mask.width;
      this.height = mask.height;
    }
  }

  dispose(): void {
    this.gl.deleteTexture(this.texture);
  }
}
