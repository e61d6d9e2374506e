/**
 * The effect, model, image and video options shared by the command line and the HTTP API: one
 * definition each (flags, help, parser, allowed values, default), so a bad value gets the same
 * message from `backdrop photo.jpg --blur 200` and from `POST /v1/images?blur=200`. (Moved from
 * the option list in cli/program.ts, which adds these by name in its own order.)
 */
import { Option } from 'commander';
import { DEFAULT_LIGHT_WRAP, DEFAULT_SOFTNESS, DEFAULT_THRESHOLD, REFINE_MODES } from '../../core/effect.js';
import { CORNERS } from '../../core/fpsMeter.js';
import { ROI_MODES } from '../../core/roi.js';
import { DEFAULT_TEMPORAL } from '../../core/temporal.js';
import { DEFAULT_MAX_PIXELS, type ImageFormat } from '../imageIO.js';
import type { VideoCodec } from '../video/sinkPlan.js';
import { colour, integerIn, numberIn, point } from './parsers.js';

export const FORMATS: ImageFormat[] = ['jpeg', 'png', 'webp', 'avif', 'tiff'];
/** The encoders --codec offers. */
export const CODECS: VideoCodec[] = ['h264', 'h265', 'vp9', 'prores'];

/** Fresh commander Options (an Option belongs to one Command). */
export function sharedOptions() {
  return {
    blur: new Option('--blur [strength]', `blur the background (the default effect); strength 0-100, default 50`).argParser(numberIn('--blur', 0, 100)),
    background: new Option('--background <image|folder|video>', 'replace the background with an image; a folder\'s images are used in turn; a video plays looped behind videos and cameras'),
    backgroundInterval: new Option('--background-interval <seconds>', 'video and cameras: with a --background folder, show the next image every so many seconds').argParser(numberIn('--background-interval', 0.01, 86400)),
    fit: new Option('--fit <mode>', 'how a background image fills the frame').choices(['cover', 'contain', 'stretch']).default('cover'),
    color: new Option('--color <css>', 'replace the background with a colour: "green", "#00b140", "rgb(0 0 0 / 50%)"').argParser(colour),
    transparent: new Option('--transparent', 'cut the person out: PNG, WebP or TIFF with a transparent background (videos: VP9 WebM with alpha)'),
    mask: new Option('--mask', 'write the person mask itself: 8-bit greyscale PNG, white = person'),
    model: new Option('--model <name|file.onnx>', 'general (square, any photo) or landscape (faster, 16:9), or your own .onnx with --model-spec').default('general'),
    modelSpec: new Option('--model-spec <json|file>', 'what your own .onnx expects: inline JSON or a .json file (input size, layout, range, output channel, activation; see the README)'),
    threshold: new Option('--threshold <0-1>', 'where the edge sits: lower keeps more of the person').argParser(numberIn('--threshold', 0, 1)).default(DEFAULT_THRESHOLD),
    softness: new Option('--softness <0-1>', 'width of the soft edge; 0 = hard cut (guided edges are half as wide: the filter already follows the picture)').argParser(numberIn('--softness', 0, 1)).default(DEFAULT_SOFTNESS),
    refine: new Option('--refine <mode>', 'edges — guided (the default, for photos and for video and cameras): snapped to the picture\'s own edges by a guided filter (for streams, worked out at a small working size); bilateral: follow the picture (joint bilateral upsampling); bilinear: smooth, the faster option; none: raw model output, no threshold').choices(REFINE_MODES),
    roi: new Option('--roi <mode>', 'auto: people small in the frame get a second, zoomed-in look by the model (sharper, truer edges; selfies are left as they are); off: the model sees the whole frame only').choices(ROI_MODES).default('auto'),
    invert: new Option('--invert', 'swap person and background (blur the person instead)'),
    lightWrap: new Option('--light-wrap <0-1>', 'let a new background\'s light spill onto the edge').argParser(numberIn('--light-wrap', 0, 1)).default(DEFAULT_LIGHT_WRAP),
    format: new Option('--format <format>', 'output format; default: the input\'s (PNG for --transparent and --mask)').choices(FORMATS),
    quality: new Option('--quality <1-100>', 'JPEG/WebP/AVIF quality (default 90)').argParser(numberIn('--quality', 1, 100)),
    maxPixels: new Option('--max-pixels <n>', 'refuse images larger than this many pixels').argParser(numberIn('--max-pixels', 1, 2 ** 40)).default(DEFAULT_MAX_PIXELS),
    codec: new Option('--codec <codec>', 'video: h264 (MP4, default), h265, vp9 (WebM) or prores (MOV); --transparent defaults to vp9').choices(CODECS),
    crf: new Option('--crf <n>', 'video quality, lower is better (default 20 for H.264, 32 for VP9)').argParser(numberIn('--crf', 0, 63)),
    preset: new Option('--preset <name>', 'video encoder speed: ultrafast … veryslow (default veryfast)'),
    from: new Option('--from <frame|time>', 'video: apply the effect from this frame (120), second (4.5s) or time (1:02.5) on').argParser(point),
    to: new Option('--to <frame|time>', 'video: … until this point; frames outside the range pass through untouched. Live: the session stops there').argParser(point),
    trim: new Option('--trim', 'video: drop the frames outside --from/--to instead of passing them through (live: nothing is shown or recorded before --from)'),
    noAudio: new Option('--no-audio', 'video: leave the sound out (by default every audio stream is kept)'),
    smoothing: new Option('--smoothing <0-1>', 'video and cameras: smooth the mask over time against flicker; 0 = off').argParser(numberIn('--smoothing', 0, 1)).default(DEFAULT_TEMPORAL.strength),
    everyFrame: new Option('--every-frame', 'video and cameras: run the model on every frame (by default a steady frame goes without it: the smoothing carries the last mask along the picture\'s motion, a talking head costs ~20 % less CPU in all; with --smoothing 0 every frame is looked at anyway)'),
    fps: new Option('--fps', 'video and cameras: draw the frames-per-second meter (live: f shows/hides it)'),
    fpsCorner: new Option('--fps-corner <corner>', 'where the FPS meter goes (default top-left)').choices(CORNERS),
    fpsColor: new Option('--fps-color <css>', 'colour of the FPS meter\'s text (default white)').argParser(colour),
    fpsSize: new Option('--fps-size <px>', 'size of the FPS meter\'s font pixels in frame pixels (default: about 1/100 of the shorter side)').argParser(integerIn('--fps-size', 1, 100)),
    flip: new Option('--flip', 'video and cameras: mirror the picture left to right, as a selfie view'),
  };
}

export type SharedOptionName = keyof ReturnType<typeof sharedOptions>;
