/**
 * HTTP form fields and query parameters → CliOptions. The fields carry the CLI's option names
 * (`light-wrap`, `crf`…) plus `effect` in place of the exclusive effect flags; they are turned into
 * flags and parsed by commander with the CLI's own option definitions, so values, defaults and
 * every message are the command line's.
 */
import { Command, CommanderError } from 'commander';
import type { CliOptions } from './cliOptions.js';
import { sharedOptions, type SharedOptionName } from './definitions.js';
import { UsageError } from './parsers.js';

export const EFFECTS = ['blur', 'background', 'color', 'transparent', 'mask'] as const;
export type EffectName = (typeof EFFECTS)[number];

/** Photo fields, by their CLI names, with the shared option each sets. */
const PHOTO_FIELDS = {
  blur: 'blur',
  color: 'color',
  fit: 'fit',
  model: 'model',
  threshold: 'threshold',
  softness: 'softness',
  refine: 'refine',
  roi: 'roi',
  invert: 'invert',
  'light-wrap': 'lightWrap',
  format: 'format',
  quality: 'quality',
} as const satisfies Record<string, SharedOptionName>;

/** Video fields (jobs only). */
const VIDEO_FIELDS = {
  codec: 'codec',
  crf: 'crf',
  preset: 'preset',
  from: 'from',
  to: 'to',
  trim: 'trim',
  smoothing: 'smoothing',
  'every-frame': 'everyFrame',
  flip: 'flip',
} as const satisfies Record<string, SharedOptionName>;

export const PHOTO_FIELD_NAMES = ['effect', ...Object.keys(PHOTO_FIELDS)];
export const VIDEO_FIELD_NAMES = Object.keys(VIDEO_FIELDS);
const BOOLEAN_FIELDS = new Set(['invert', 'trim', 'every-frame', 'flip']);

export interface FieldContext {
  /** Video fields are allowed (jobs). */
  video: boolean;
  /** Where an uploaded background image was stored (a server-made path), if one was sent. */
  background?: string;
  /** The server's --max-pixels. */
  maxPixels: number;
}

/** A field's help and allowed values, from the CLI option it maps to (for the OpenAPI document). */
export function fieldDocs(video: boolean): Record<string, { description: string; enum?: string[]; default?: unknown }> {
  const defs = sharedOptions();
  const docs: Record<string, { description: string; enum?: string[]; default?: unknown }> = {
    effect: { description: 'the effect: blur (default), background (needs a `background` image part), color (needs `color`), transparent or mask', enum: [...EFFECTS] },
  };
  const fields: Record<string, SharedOptionName> = { ...PHOTO_FIELDS, ...(video ? VIDEO_FIELDS : {}) };
  for (const [field, name] of Object.entries(fields)) {
    const o = defs[name];
    docs[field] = { description: `as --${o.attributeName() === name ? o.long!.slice(2) : field}: ${o.description}`, enum: o.argChoices, default: o.defaultValue as unknown };
  }
  docs.model = { ...docs.model, description: 'general (square, any photo) or landscape (faster, 16:9)', enum: ['general', 'landscape'] };
  for (const b of BOOLEAN_FIELDS) if (docs[b]) docs[b] = { ...docs[b], enum: ['true', 'false'] };
  return docs;
}

/** Parse the fields of one request; throws UsageError with the CLI's message for the first bad one. */
export function cliOptionsFromFields(fields: Record<string, string>, context: FieldContext): CliOptions {
  const known: Record<string, SharedOptionName> = { ...PHOTO_FIELDS, ...(context.video ? VIDEO_FIELDS : {}) };
  const argv: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'effect') continue;
    const name = known[field];
    if (name === undefined) {
      if (!context.video && field in VIDEO_FIELDS) throw new UsageError(`${field} is a video option; send videos to POST /v1/jobs`);
      throw new UsageError(`unknown option "${field}"; the options are ${[...PHOTO_FIELD_NAMES, ...(context.video ? VIDEO_FIELD_NAMES : [])].join(', ')}`);
    }
    if (BOOLEAN_FIELDS.has(field)) {
      const v = value.trim().toLowerCase();
      if (!['', 'true', '1', 'false', '0'].includes(v)) throw new UsageError(`${field} must be true or false, got "${value}"`);
      if (v === 'false' || v === '0') continue;
      argv.push(`--${field}`);
      continue;
    }
    if (field === 'model' && value !== 'general' && value !== 'landscape') {
      throw new UsageError(`--model must be general or landscape, got "${value}" (your own .onnx models are for the command line and the library)`);
    }
    argv.push(`--${field}=${value}`);
  }
  const effect = fields.effect;
  if (effect !== undefined) {
    if (!(EFFECTS as readonly string[]).includes(effect)) throw new UsageError(`option 'effect' argument '${effect}' is invalid. Allowed choices are ${EFFECTS.join(', ')}.`);
    if (effect === 'background' && context.background === undefined) throw new UsageError('effect background needs a background image part');
    if (effect === 'color' && fields.color === undefined) throw new UsageError('effect color needs a color field, e.g. color=#00b140');
    if (effect === 'transparent' || effect === 'mask' || (effect === 'blur' && fields.blur === undefined)) argv.push(`--${effect}`);
  }
  if (context.background !== undefined) argv.push(`--background=${context.background}`);
  argv.push(`--max-pixels=${context.maxPixels}`);
  return parseFlags(argv, [...new Set(Object.values(known)), 'transparent', 'mask', 'background', 'maxPixels']);
}

function parseFlags(argv: string[], names: SharedOptionName[]): CliOptions {
  const defs = sharedOptions();
  const command = new Command('backdrop')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .allowExcessArguments(false);
  for (const name of names) command.addOption(defs[name]);
  try {
    command.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ''));
    throw e;
  }
  return command.opts<CliOptions>();
}
