/**
 * The options of the `backdrop` command by their CLI names (commander's camelCase), as the CLI
 * parses them from flags and the server from form fields and query parameters. (Moved from
 * cli/program.ts.)
 */
import type { Refine } from '../../core/effect.js';
import type { Corner } from '../../core/fpsMeter.js';
import type { RoiMode } from '../../core/roi.js';
import type { ImageFormat } from '../imageIO.js';
import type { VideoCodec } from '../video/sinkPlan.js';
import type { VideoPoint } from '../video/point.js';

export interface CliOptions {
  blur?: number | true;
  background?: string;
  fit: 'cover' | 'contain' | 'stretch';
  color?: string;
  transparent?: boolean;
  mask?: boolean;
  model: string;
  modelSpec?: string;
  threshold: number;
  softness: number;
  refine?: Refine;
  roi: RoiMode;
  invert?: boolean;
  lightWrap: number;
  output?: string;
  format?: ImageFormat;
  quality?: number;
  force?: boolean;
  recursive?: boolean;
  maxPixels: number;
  quiet?: boolean;
  json?: boolean;
  // Video
  codec?: VideoCodec;
  crf?: number;
  preset?: string;
  /** Parsed once, by the option's parser, for files and live sessions alike. */
  from?: VideoPoint;
  to?: VideoPoint;
  trim?: boolean;
  audio?: boolean;
  // Video and live
  smoothing: number;
  /** `--every-frame`: the model runs on every frame (no frame goes on the smoother's prediction). */
  everyFrame?: boolean;
  fps?: boolean;
  fpsCorner?: Corner;
  fpsColor?: string;
  fpsSize?: number;
  flip?: boolean;
  backgroundInterval?: number;
  // Live
  listCameras?: boolean;
  preview?: number | true;
  virtualCamera?: string;
  stallTimeout?: number;
  live?: boolean;
  loop?: boolean;
}
