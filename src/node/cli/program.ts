/**
 * `backdrop <inputs...>`: the command line, parsed with commander. Everything here is about
 * turning flags into a plan; the work itself is done by Backdrop (facade.ts) in runBatch.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseColor } from '../../core/color.js';
import { DEFAULT_LIGHT_WRAP, DEFAULT_SOFTNESS, DEFAULT_THRESHOLD, REFINE_MODES, type Refine } from '../../core/effect.js';
import { CORNERS, type Corner } from '../../core/fpsMeter.js';
import { validateSpec, type ModelSpec } from '../../core/modelSpec.js';
import { ROI_MODES, type RoiMode } from '../../core/roi.js';
import { DEFAULT_TEMPORAL } from '../../core/temporal.js';
import { DEFAULT_MAX_PIXELS, formatFromPath, type ImageFormat } from '../imageIO.js';
import type { BackdropOptions, PhotoEffect } from '../facade.js';
import { runBatch, type CliIO } from './batch.js';
import type { VideoCodec } from '../video/sinkPlan.js';
import { CODECS, fpsMeterFrom } from './video.js';
import { parseVideoPoint, type VideoPoint } from '../video/point.js';
import { isVideoPath } from './outputs.js';
import { isLiveInput, listCamerasCommand, runLiveCommand } from '../live/liveCli.js';

const FORMATS: ImageFormat[] = ['jpeg', 'png', 'webp', 'avif', 'tiff'];

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
  from?: VideoPoint;
  to?: VideoPoint;
  trim?: boolean;
  audio?: boolean;
  // Video and live
  smoothing: number;
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

function numberIn(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a number from ${lo} to ${hi}.`);
    return n;
  };
}

/** `--from`/`--to`, parsed here once for files and live sessions alike. */
function point(value: string): VideoPoint {
  try {
    return parseVideoPoint(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function integerIn(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a whole number from ${lo} to ${hi}.`);
    return n;
  };
}

function colour(value: string): string {
  try {
    parseColor(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('backdrop');
  program
    .description(
      'Blur, replace, recolour or remove the background behind people in photos and videos.\n' +
        'Runs the MediaPipe selfie segmentation model on your own machine; nothing is uploaded.',
    )
    .argument('[inputs...]', 'image or video files, or folders of them (JPEG, PNG, WebP, AVIF, TIFF, GIF, HEIF; MP4, MOV, MKV, WebM, AVI, Y4M…)')
    .helpOption('-h, --help', 'show this help')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--blur [strength]', `blur the background (the default effect); strength 0-100, default 50`).argParser(numberIn('--blur', 0, 100)))
    .addOption(new Option('--background <image|folder|video>', 'replace the background with an image; a folder\'s images are used in turn; a video plays looped behind videos and cameras'))
    .addOption(new Option('--background-interval <seconds>', 'video and cameras: with a --background folder, show the next image every so many seconds').argParser(numberIn('--background-interval', 0.01, 86400)))
    .addOption(new Option('--fit <mode>', 'how a background image fills the frame').choices(['cover', 'contain', 'stretch']).default('cover'))
    .addOption(new Option('--color <css>', 'replace the background with a colour: "green", "#00b140", "rgb(0 0 0 / 50%)"').argParser(colour))
    .addOption(new Option('--transparent', 'cut the person out: PNG or WebP with a transparent background'))
    .addOption(new Option('--mask', 'write the person mask itself: 8-bit greyscale PNG, white = person'))
    .addOption(new Option('--model <name|file.onnx>', 'general (square, any photo) or landscape (faster, 16:9), or your own .onnx with --model-spec').default('general'))
    .addOption(new Option('--model-spec <json|file>', 'what your own .onnx expects: inline JSON or a .json file (input size, layout, range, output channel, activation; see the README)'))
    .addOption(new Option('--threshold <0-1>', 'where the edge sits: lower keeps more of the person').argParser(numberIn('--threshold', 0, 1)).default(DEFAULT_THRESHOLD))
    .addOption(new Option('--softness <0-1>', 'width of the soft edge; 0 = hard cut (guided edges are half as wide: the filter already follows the picture)').argParser(numberIn('--softness', 0, 1)).default(DEFAULT_SOFTNESS))
    .addOption(new Option('--refine <mode>', 'edges — guided: snapped to the picture\'s own edges by a guided filter (default for photos); bilateral: follow the picture (joint bilateral upsampling); bilinear: smooth, several times faster (default for video and cameras, and lets ffmpeg composite video files); none: raw model output, no threshold').choices(REFINE_MODES))
    .addOption(new Option('--roi <mode>', 'auto: people small in the frame get a second, zoomed-in look by the model (sharper, truer edges; selfies are left as they are); off: the model sees the whole frame only').choices(ROI_MODES).default('auto'))
    .addOption(new Option('--invert', 'swap person and background (blur the person instead)'))
    .addOption(new Option('--light-wrap <0-1>', 'let a new background\'s light spill onto the edge').argParser(numberIn('--light-wrap', 0, 1)).default(DEFAULT_LIGHT_WRAP))
    .addOption(new Option('-o, --output <file|folder>', 'output file (one input) or folder; default: <name>_out.<ext> beside each input'))
    .addOption(new Option('--format <format>', 'output format; default: the input\'s (PNG for --transparent and --mask)').choices(FORMATS))
    .addOption(new Option('--quality <1-100>', 'JPEG/WebP/AVIF quality (default 90)').argParser(numberIn('--quality', 1, 100)))
    .addOption(new Option('-f, --force', 'overwrite existing output files (never an input)'))
    .addOption(new Option('-r, --recursive', 'look for images in sub-folders too'))
    .addOption(new Option('--max-pixels <n>', 'refuse images larger than this many pixels').argParser(numberIn('--max-pixels', 1, 2 ** 40)).default(DEFAULT_MAX_PIXELS))
    .addOption(new Option('--codec <codec>', 'video: h264 (MP4, default), h265, vp9 (WebM) or prores (MOV); --transparent defaults to vp9').choices(CODECS))
    .addOption(new Option('--crf <n>', 'video quality, lower is better (default 20 for H.264, 32 for VP9)').argParser(numberIn('--crf', 0, 63)))
    .addOption(new Option('--preset <name>', 'video encoder speed: ultrafast … veryslow (default veryfast)'))
    .addOption(new Option('--from <frame|time>', 'video: apply the effect from this frame (120), second (4.5s) or time (1:02.5) on').argParser(point))
    .addOption(new Option('--to <frame|time>', 'video: … until this point; frames outside the range pass through untouched. Live: the session stops there').argParser(point))
    .addOption(new Option('--trim', 'video: drop the frames outside --from/--to instead of passing them through (live: nothing is shown or recorded before --from)'))
    .addOption(new Option('--no-audio', 'video: leave the sound out (by default every audio stream is kept)'))
    .addOption(new Option('--smoothing <0-1>', 'video and cameras: smooth the mask over time against flicker; 0 = off').argParser(numberIn('--smoothing', 0, 1)).default(DEFAULT_TEMPORAL.strength))
    .addOption(new Option('--fps', 'video and cameras: draw the frames-per-second meter (live: f shows/hides it)'))
    .addOption(new Option('--fps-corner <corner>', 'where the FPS meter goes (default top-left)').choices(CORNERS))
    .addOption(new Option('--fps-color <css>', 'colour of the FPS meter\'s text (default white)').argParser(colour))
    .addOption(new Option('--fps-size <px>', 'size of the FPS meter\'s font pixels in frame pixels (default: about 1/100 of the shorter side)').argParser(integerIn('--fps-size', 1, 100)))
    .addOption(new Option('--flip', 'video and cameras: mirror the picture left to right, as a selfie view'))
    .addOption(new Option('--list-cameras', 'list cameras (for camera:N) and exit'))
    .addOption(new Option('--preview [port]', 'live: show the result at http://127.0.0.1:PORT (default when no other output); write --preview=8080').argParser(numberIn('--preview', 0, 65535)))
    .addOption(new Option('--virtual-camera <device>', 'live: feed a v4l2loopback device that Zoom/Meet/Teams can use, e.g. /dev/video10 (Linux)'))
    .addOption(new Option('--stall-timeout <seconds>', 'live: give up when the camera sends nothing this long (default 10)').argParser(numberIn('--stall-timeout', 0.1, 3600)))
    .addOption(new Option('--live', 'play a video file as a camera, in real time: preview it, record it, feed a virtual camera'))
    .addOption(new Option('--loop', 'live: start the video file over when it ends (implies --live)'))
    .addOption(new Option('-q, --quiet', 'print errors only'))
    .addOption(new Option('--json', 'print a machine-readable summary on stdout'))
    .addHelpText(
      'after',
      `
Examples:
  backdrop photo.jpg                          blur the background -> photo_out.jpg
  backdrop photo.jpg --blur 80 -o blurred.jpg stronger blur, named output
  backdrop photos/ --background beach.jpg     every image in photos/, new background
  backdrop photos/ -r --background bgs/ -o out/  backgrounds from bgs/ in turn, results in out/
  backdrop me.jpg --color "#00b140"           green screen
  backdrop me.jpg --transparent               me_out.png with a transparent background
  backdrop me.jpg --mask --refine none --roi off
                                              the model's own raw mask (MediaPipe's) as a grey PNG
  backdrop talk.mp4                           blurred background, sound kept -> talk_out.mp4
  backdrop talk.mp4 --transparent             talk_out.webm with an alpha channel (VP9)
  backdrop talk.mp4 --from 2s --to 10s --trim only seconds 2-10, effect applied
  backdrop talk.mp4 --background beach.mp4    a looping video behind the person
  backdrop talk.mp4 --background bgs/ --background-interval 5   a new image every 5 s
  backdrop talk.mp4 --fps --smoothing 0       FPS meter drawn, no temporal smoothing
  backdrop talk.mp4 --fps --fps-corner bottom-right --fps-color yellow
  backdrop camera --background bgs/           live webcam, preview at http://127.0.0.1:…;
                                              keys a/d cycle backgrounds, f FPS, q quit
  backdrop camera --flip --fps                mirrored like a selfie view, FPS meter shown
  backdrop camera:1 --virtual-camera /dev/video10   feed a v4l2loopback virtual camera
  backdrop talk.mp4 --loop                    try the live preview without a camera

Outputs are written to a temporary file and renamed when complete; an input is never
overwritten, and an existing output only with --force. Exit status: 0 all done, 1 some
file failed, 2 bad usage; 130, 143 or 129 stopped by Ctrl-C, SIGTERM or SIGHUP (a live
recording is still finished and kept).`,
    )
    .showHelpAfterError('(run backdrop --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .action(async (inputs: string[], options: CliOptions) => {
      if (options.listCameras) {
        io.exitCode = await listCamerasCommand(io, { json: options.json });
        return;
      }
      if (inputs.length === 0) throw new UsageError('give image or video files or folders, or a camera: camera, camera:1, /dev/video0, rtsp://…, lavfi:testsrc2');
      if (!options.fps && (options.fpsCorner ?? options.fpsColor ?? options.fpsSize) !== undefined) throw new UsageError('--fps-corner, --fps-color and --fps-size go with --fps');
      const fileAsCamera = options.live || options.loop;
      if (fileAsCamera && inputs.length !== 1) throw new UsageError('--live and --loop play one video file as a camera');
      if (inputs.length === 1 && (isLiveInput(inputs[0]) || fileAsCamera)) {
        const live = { output: options.output, preview: options.preview, virtualCamera: options.virtualCamera, stallTimeout: options.stallTimeout, loop: options.loop };
        // --to ends the session; --from starts the effect (with --trim: the output) in session time.
        const bounds = { from: options.from, to: options.to, trim: options.trim };
        const stream = { smoothing: options.smoothing, fps: fpsMeterFrom(options), flip: options.flip };
        const encode = { force: options.force, crf: options.crf, preset: options.preset, quiet: options.quiet, json: options.json };
        io.exitCode = await runLiveCommand(inputs[0], { ...live, ...bounds, ...encode, ...stream }, toBackdropOptions(options), io);
        return;
      }
      if (inputs.some(isLiveInput)) throw new UsageError('a camera or stream must be the only input');
      if (options.preview !== undefined || options.virtualCamera || options.stallTimeout !== undefined) {
        throw new UsageError('--preview, --virtual-camera and --stall-timeout are for camera or stream inputs (or a video file played as one: --live)');
      }
      io.exitCode = await runBatch(inputs, options, toBackdropOptions(options), await outputTarget(options, inputs), io);
    });
  return program;
}

/** The version in the package's own package.json, read at run time (the same relative path from src/ and dist/). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

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

function toBackdropOptions(options: CliOptions): BackdropOptions {
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

async function outputTarget(options: CliOptions, inputs: string[]): Promise<{ dir: string } | { file: string } | undefined> {
  const out = options.output;
  if (out === undefined) return undefined;
  const info = await stat(out).catch(() => undefined);
  if (info?.isDirectory() || /[\\/]$/.test(out)) return { dir: out };
  // A name with an image or video extension is a file; anything else with several inputs is a folder to create.
  if (isVideoPath(out)) return { file: out };
  if (formatFromPath(out)) {
    const fmt = formatFromPath(out);
    if (options.format && fmt !== options.format) throw new UsageError(`-o ${out} is ${fmt}, but --format says ${options.format}`);
    return { file: out };
  }
  if (inputs.length > 1 || (await Promise.all(inputs.map((i) => stat(i).catch(() => undefined)))).some((s) => s?.isDirectory())) return { dir: out };
  throw new UsageError(`-o ${out}: give an image or video file name (.jpg, .png, .webp, .avif, .tif, .mp4, .webm, .mov…) or an existing folder`);
}

export class UsageError extends Error {}
