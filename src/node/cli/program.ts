/**
 * `backdrop <inputs...>`: the command line, parsed with commander. Everything here is about
 * turning flags into a plan; the work itself is done by Backdrop (facade.ts) in runBatch.
 */
import { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import { formatFromPath } from '../imageIO.js';
import { runBatch } from './batch.js';
import type { CliIO } from './io.js';
import { packageVersion } from './version.js';
import { serveCommand } from './serve.js';
import { workerCommand } from './worker.js';
import { isVideoPath, type Target } from './outputs.js';
import { isLiveInput, listCamerasCommand, runLiveCommand } from '../live/liveCli.js';
import { addDoctorCommand } from './doctor.js';
import type { CliOptions } from '../options/cliOptions.js';
import { toBackdropOptions } from '../options/backdropOptions.js';
import { sharedOptions } from '../options/definitions.js';
import { numberIn, UsageError } from '../options/parsers.js';
import { fpsMeterFrom } from '../options/videoOptions.js';

export function buildProgram(io: CliIO): Command {
  const program = new Command('backdrop');
  const o = sharedOptions();
  program
    .description(
      'Blur, replace, recolour or remove the background behind people in photos and videos.\n' +
        'Runs the MediaPipe selfie segmentation model on your own machine; nothing is uploaded.',
    )
    .argument('[inputs...]', 'image or video files, or folders of them (JPEG, PNG, WebP, AVIF, TIFF, GIF, HEIF; MP4, MOV, MKV, WebM, AVI, Y4M…)')
    .helpOption('-h, --help', 'show this help')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(o.blur)
    .addOption(o.background)
    .addOption(o.backgroundInterval)
    .addOption(o.fit)
    .addOption(o.color)
    .addOption(o.transparent)
    .addOption(o.mask)
    .addOption(o.model)
    .addOption(o.modelSpec)
    .addOption(o.threshold)
    .addOption(o.softness)
    .addOption(o.refine)
    .addOption(o.roi)
    .addOption(o.invert)
    .addOption(o.lightWrap)
    .addOption(new Option('-o, --output <file|folder>', 'output file (one input) or folder; default: <name>_out.<ext> beside each input'))
    .addOption(o.format)
    .addOption(o.quality)
    .addOption(new Option('-f, --force', 'overwrite existing output files (never an input)'))
    .addOption(new Option('-r, --recursive', 'look for images in sub-folders too'))
    .addOption(o.maxPixels)
    .addOption(o.codec)
    .addOption(o.crf)
    .addOption(o.preset)
    .addOption(o.from)
    .addOption(o.to)
    .addOption(o.trim)
    .addOption(o.noAudio)
    .addOption(o.smoothing)
    .addOption(o.everyFrame)
    .addOption(o.fps)
    .addOption(o.fpsCorner)
    .addOption(o.fpsColor)
    .addOption(o.fpsSize)
    .addOption(o.flip)
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
  backdrop talk.mp4 --every-frame             the model on every frame, even the steady ones
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
    // `backdrop serve --max-pixels N` is serve's own flag, not the photo command's.
    .enablePositionalOptions()
    .addCommand(serveCommand(io))
    .addCommand(workerCommand(io))
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
        const stream = { smoothing: options.smoothing, everyFrame: options.everyFrame, fps: fpsMeterFrom(options), flip: options.flip };
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
  addDoctorCommand(program, io);
  return program;
}


async function outputTarget(options: CliOptions, inputs: string[]): Promise<Target> {
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
