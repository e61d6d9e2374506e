/**
 * CLI-named options → the facade's BackdropOptions: which effect (the effect flags are
 * exclusive), which model, and the edge settings. The command line and the server both call
 * this, so a bad combination reads the same from either. (Moved from cli/program.ts; temporalFrom
 * from live/liveCli.ts.)
 */
import { readFileSync } from 'node:fs';
import { parseColor } from '../../core/color.js';
import { validateSpec, type ModelSpec } from '../../core/modelSpec.js';
import type { TemporalOptions } from '../../core/temporal.js';
import type { BackdropOptions, PhotoEffect } from '../facade.js';
import { isVideoPath } from '../mediaKind.js';
import type { CliOptions } from './cliOptions.js';
import { UsageError } from './parsers.js';

/** Effect flags are exclusive; none given means blur. */
export function effectFrom(options: CliOptions): PhotoEffect {
  const chosen = (['blur', 'background', 'color', 'transparent', 'mask'] as const).filter((k) => options[k] !== undefined && options[k] !== false);
  if (chosen.length > 1) throw new UsageError(`choose one effect, not ${chosen.map((c) => `--${c}`).join(' and ')}`);
  if (options.backgroundInterval !== undefined && options.background === undefined) throw new UsageError('--background-interval goes with a --background folder');
  if (options.background !== undefined) {
    // A video file plays behind videos and cameras (photos get its first picture).
    if (isVideoPath(options.background)) return { type: 'video', path: options.background, fit: options.fit };
    const intervalMs = options.backgroundInterval !== undefined ? options.backgroundInterval * 1000 : undefined;
    return { type: 'image', path: options.background, fit: options.fit, intervalMs };
  }
  if (options.color !== undefined) return { type: 'color', color: parseColor(options.color) };
  if (options.transparent) return { type: 'transparent' };
  if (options.mask) return { type: 'mask' };
  return { type: 'blur', strength: typeof options.blur === 'number' ? options.blur : 50 };
}

export function toBackdropOptions(options: CliOptions): BackdropOptions {
  const effect = effectFrom(options);
  if ((effect.type === 'transparent' || effect.type === 'mask') && options.format === 'jpeg') {
    throw new UsageError(`--${effect.type} needs a format that keeps ${effect.type === 'mask' ? 'a grey channel exactly' : 'transparency'}: png, webp or tiff`);
  }
  return {
    effect,
    model: modelFrom(options),
    threshold: options.threshold,
    softness: options.softness,
    refine: options.refine,
    roi: options.roi,
    invert: options.invert,
    lightWrap: options.lightWrap,
    maxPixels: options.maxPixels,
  };
}

function modelFrom(options: CliOptions): BackdropOptions['model'] {
  const { model, modelSpec } = options;
  if (model === 'general' || model === 'landscape') {
    if (modelSpec) throw new UsageError('--model-spec goes with your own --model file.onnx');
    return model;
  }
  if (!model.toLowerCase().endsWith('.onnx')) throw new UsageError(`--model must be general, landscape or a .onnx file, got "${model}"`);
  if (!modelSpec) throw new UsageError(`--model ${model} needs --model-spec to say its input size, layout and output (see --help)`);
  let spec: ModelSpec;
  try {
    spec = JSON.parse(modelSpec.trim().startsWith('{') ? modelSpec : readFileSync(modelSpec, 'utf8')) as ModelSpec;
  } catch (e) {
    throw new UsageError(`--model-spec: ${(e as Error).message}`);
  }
  try {
    return { onnx: model, spec: validateSpec({ ...spec, name: spec.name ?? model }) };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * `--smoothing` and `--every-frame`: smoothing undefined = the default strength (on), 0 = off, else
 * that strength; `--every-frame` adds `predict: false`, so no frame goes on the smoother's
 * prediction without the model. With smoothing off there is nothing to predict with: every frame
 * is looked at anyway, and `--every-frame` changes nothing.
 */
export function temporalFrom(smoothing: number | undefined, everyFrame = false): TemporalOptions | boolean | undefined {
  if (smoothing === 0) return false;
  const strength = smoothing !== undefined ? { strength: smoothing } : undefined;
  if (!everyFrame) return strength;
  return { ...strength, predict: false };
}
