/**
 * Live inputs: a user's input spec → ffmpeg input arguments, and listing the cameras.
 *
 * Specs:
 * - `camera` / `camera:N` — the N-th camera (default 0): Linux `-f v4l2 -i /dev/videoN`, macOS
 *   `-f avfoundation -framerate 30 -i "N:none"`, Windows `-f dshow -i video=NAME` (NAME is the N-th
 *   DirectShow video device, so Windows needs the device list). `camera:NAME` (not a number) names
 *   the device directly on macOS and Windows.
 * - `/dev/videoN` — a V4L2 device (Linux).
 * - a URL (`rtsp://`, `rtmp://`, `http(s)://`, `srt://`, `udp://`, `tcp://`, `rtp://`) — read as it comes.
 * - `lavfi:GRAPH` — a synthetic source, e.g. `lavfi:testsrc2=size=640x360:rate=30`, played at its
 *   own rate (`-re`), as a camera would.
 * - anything else — a file played at its own rate (`-re`) as a stand-in camera; `loop` repeats it.
 *
 * Everything here that depends on the operating system takes the platform as a parameter, so the
 * argument building is tested for all three on any machine.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findFfmpeg, type FfmpegOptions } from '../video/ffmpegPath.js';

export type LivePlatform = 'linux' | 'darwin' | 'win32' | NodeJS.Platform;

export type LiveInputKind = 'camera' | 'device' | 'url' | 'lavfi' | 'file';

/** What openVideoSource takes for a live input, plus what kind it is. */
export interface LiveInput {
  args: string[];
  /** A short name for messages, e.g. `/dev/video0`, `FaceTime HD Camera`, the URL. */
  name: string;
  kind: LiveInputKind;
}

export interface CameraInputOptions {
  /** Default: process.platform. */
  platform?: LivePlatform;
  /** Ask the camera for this size, e.g. `1280x720` (`-video_size`). */
  size?: string;
  /** Ask the camera for this rate (`-framerate`). macOS defaults to 30 (avfoundation needs one). */
  framerate?: number;
  /** Repeat a file input forever (`-stream_loop -1`). */
  loop?: boolean;
}

/** A camera found by listCameras. */
export interface CameraInfo {
  /** Position in the list: what `camera:N` means. On Linux, the N of /dev/videoN. */
  index: number;
  name: string;
  /** What to pass as the input: `/dev/video2`, `camera:1`… */
  spec: string;
  /** Linux: the device path. Windows: DirectShow's alternative name, when printed. */
  device?: string;
}

const URL_SCHEMES = /^(rtsp|rtsps|rtmp|rtmps|http|https|srt|udp|tcp|rtp|hls):\/\//i;

/** A camera index or name from `camera`, `camera:N`, `camera:NAME`; null when the spec is not a camera. */
export function parseCameraSpec(spec: string): { index: number } | { name: string } | null {
  const m = /^camera(?::(.*))?$/i.exec(spec.trim());
  if (!m) return null;
  const rest = m[1];
  if (rest === undefined || rest === '') return { index: 0 };
  if (/^\d+$/.test(rest)) return { index: Number(rest) };
  return { name: rest };
}

export function kindOfInputSpec(spec: string): LiveInputKind {
  if (parseCameraSpec(spec)) return 'camera';
  if (/^\/dev\/video\d+$/.test(spec)) return 'device';
  if (URL_SCHEMES.test(spec)) return 'url';
  if (/^lavfi:/i.test(spec)) return 'lavfi';
  return 'file';
}

function captureOptions(opts: CameraInputOptions, defaultRate?: number): string[] {
  const args: string[] = [];
  const rate = opts.framerate ?? defaultRate;
  if (rate !== undefined) args.push('-framerate', String(rate));
  if (opts.size !== undefined) {
    if (!/^\d+x\d+$/.test(opts.size)) throw new RangeError(`camera size must look like 1280x720, got ${JSON.stringify(opts.size)}`);
    args.push('-video_size', opts.size);
  }
  return args;
}

/**
 * ffmpeg input arguments for a spec. Pure. On Windows, `camera:N` needs the DirectShow video device
 * names (`dshowNames`, from listCameras); resolveLiveInput fetches them.
 */
export function liveInputArgs(spec: string, opts: CameraInputOptions & { dshowNames?: string[] } = {}): LiveInput {
  const platform = opts.platform ?? process.platform;
  const kind = kindOfInputSpec(spec);
  switch (kind) {
    case 'camera': {
      const cam = parseCameraSpec(spec)!;
      if (platform === 'linux') {
        if ('name' in cam) throw new RangeError(`on Linux name a camera by number or path (camera:0, /dev/video0), not ${JSON.stringify(cam.name)}; see --list-cameras`);
        const dev = `/dev/video${cam.index}`;
        return { args: ['-f', 'v4l2', ...captureOptions(opts), '-i', dev], name: dev, kind };
      }
      if (platform === 'darwin') {
        const which = 'name' in cam ? cam.name : String(cam.index);
        return { args: ['-f', 'avfoundation', ...captureOptions(opts, 30), '-i', `${which}:none`], name: 'name' in cam ? cam.name : `camera ${cam.index}`, kind };
      }
      if (platform === 'win32') {
        let name: string;
        if ('name' in cam) name = cam.name;
        else {
          const names = opts.dshowNames;
          if (!names) throw new RangeError('on Windows camera:N needs the list of DirectShow cameras (use resolveLiveInput)');
          if (names.length === 0) throw new RangeError('no camera found (ffmpeg -list_devices true -f dshow -i dummy lists none)');
          if (cam.index >= names.length) {
            throw new RangeError(`there is no camera ${cam.index}: found ${names.length} (${names.map((n, i) => `${i}: ${n}`).join(', ')})`);
          }
          name = names[cam.index];
        }
        return { args: ['-f', 'dshow', ...captureOptions(opts), '-i', `video=${name}`], name, kind };
      }
      throw new RangeError(`cameras are supported on Linux, macOS and Windows, not ${platform}; pass a device or URL instead`);
    }
    case 'device':
      if (platform !== 'linux') throw new RangeError(`${spec} is a Linux (V4L2) device; on ${platform} use camera[:N]`);
      return { args: ['-f', 'v4l2', ...captureOptions(opts), '-i', spec], name: spec, kind };
    case 'url': {
      const args = /^rtsps?:/i.test(spec) ? ['-rtsp_transport', 'tcp', '-i', spec] : ['-i', spec];
      return { args, name: spec, kind };
    }
    case 'lavfi': {
      const graph = spec.slice('lavfi:'.length);
      if (graph === '') throw new RangeError('lavfi: needs a filter graph, e.g. lavfi:testsrc2=size=640x360:rate=30');
      return { args: ['-re', '-f', 'lavfi', '-i', graph], name: spec, kind };
    }
    case 'file':
      return { args: ['-re', ...(opts.loop ? ['-stream_loop', '-1'] : []), '-i', spec], name: spec, kind };
  }
}

/** Like liveInputArgs, listing the DirectShow cameras first when needed (Windows, `camera:N`). */
export async function resolveLiveInput(spec: string, opts: CameraInputOptions & FfmpegOptions = {}): Promise<LiveInput> {
  const platform = opts.platform ?? process.platform;
  const cam = parseCameraSpec(spec);
  if (platform === 'win32' && cam && 'index' in cam) {
    const cameras = await listCameras({ ...opts, platform });
    return liveInputArgs(spec, { ...opts, platform, dshowNames: cameras.map((c) => c.name) });
  }
  return liveInputArgs(spec, { ...opts, platform });
}

// ---------------------------------------------------------------------------------------------
// Listing

/** The ffmpeg command that lists a platform's capture devices (printed on stderr). */
export function listDevicesArgs(platform: LivePlatform): string[] | null {
  if (platform === 'darwin') return ['-hide_banner', '-f', 'avfoundation', '-list_devices', 'true', '-i', ''];
  if (platform === 'win32') return ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'];
  return null;
}

/** Strip ffmpeg's `[avfoundation @ 0x…] ` / `[dshow @ 0000…] ` prefix. */
function logText(line: string): string {
  return line.replace(/^\[[^\]]*@ ?[0-9a-fx]+\]\s?/i, '');
}

/**
 * The video devices in `ffmpeg -list_devices true` output. avfoundation prints a "video devices:"
 * section of `[N] NAME` lines; dshow prints either sections ("DirectShow video devices" then
 * `"NAME"` lines) or, in newer builds, `"NAME" (video)` lines, each followed by an `Alternative name`.
 */
export function parseDeviceList(output: string, format: 'avfoundation' | 'dshow'): CameraInfo[] {
  const cams: CameraInfo[] = [];
  const lines = output.split(/\r?\n/).map(logText);
  if (format === 'avfoundation') {
    let inVideo = false;
    for (const line of lines) {
      if (/video devices:/i.test(line)) inVideo = true;
      else if (/audio devices:/i.test(line)) inVideo = false;
      else if (inVideo) {
        const m = /^\s*\[(\d+)\]\s+(.+?)\s*$/.exec(line);
        if (m) cams.push({ index: Number(m[1]), name: m[2], spec: `camera:${m[1]}` });
      }
    }
    return cams;
  }
  let section: 'video' | 'audio' | null = null;
  let last: CameraInfo | null = null;
  for (const line of lines) {
    if (/DirectShow video devices/i.test(line)) {
      section = 'video';
      continue;
    }
    if (/DirectShow audio devices/i.test(line)) {
      section = 'audio';
      continue;
    }
    const alt = /^\s*Alternative name\s+"(.*)"\s*$/.exec(line);
    if (alt) {
      if (last) last.device = alt[1];
      continue;
    }
    const m = /^\s*"(.+)"\s*(?:\((video|audio|none|video,\s*audio|audio,\s*video)\))?\s*$/i.exec(line);
    if (!m) continue;
    const type = m[2]?.toLowerCase();
    const isVideo = type !== undefined ? type.includes('video') : section === 'video';
    last = null;
    if (isVideo) {
      last = { index: cams.length, name: m[1], spec: `camera:${cams.length}` };
      cams.push(last);
    }
  }
  return cams;
}

export interface ListCamerasOptions extends FfmpegOptions {
  platform?: LivePlatform;
  /** Linux: where the device nodes are (default /dev). */
  devDir?: string;
  /** Linux: where their names are (default /sys/class/video4linux). */
  sysDir?: string;
}

/**
 * The cameras on this machine. Linux: every /dev/videoN, named from /sys/class/video4linux (a
 * camera often shows as two nodes, the second for metadata; both are listed). macOS/Windows: from
 * `ffmpeg -list_devices true`.
 */
export async function listCameras(opts: ListCamerasOptions = {}): Promise<CameraInfo[]> {
  const platform = opts.platform ?? process.platform;
  if (platform === 'linux') {
    const devDir = opts.devDir ?? '/dev';
    const sysDir = opts.sysDir ?? '/sys/class/video4linux';
    let entries: string[];
    try {
      entries = await readdir(devDir);
    } catch {
      return [];
    }
    const nodes = entries
      .map((e) => /^video(\d+)$/.exec(e))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const cams: CameraInfo[] = [];
    for (const n of nodes) {
      let name = `video${n}`;
      try {
        name = (await readFile(join(sysDir, `video${n}`, 'name'), 'utf8')).trim() || name;
      } catch {
        // no sysfs entry: keep the node name
      }
      const device = `${devDir.replace(/\/$/, '')}/video${n}`;
      cams.push({ index: n, name, spec: devDir === '/dev' ? `camera:${n}` : device, device });
    }
    return cams;
  }
  const args = listDevicesArgs(platform);
  if (!args) return [];
  const ffmpeg = findFfmpeg(opts).path;
  // ffmpeg exits 1 after listing (the dummy input cannot be opened); the list is on stderr.
  const stderr = await new Promise<string>((resolve) => {
    execFile(ffmpeg, args, { encoding: 'utf8', timeout: 15_000 }, (_err, _stdout, err) => resolve(String(err)));
  });
  return parseDeviceList(stderr, platform === 'darwin' ? 'avfoundation' : 'dshow');
}

/** The --list-cameras text: one camera a line, `spec  name  (device)`. */
export function formatCameraList(cameras: CameraInfo[]): string {
  if (cameras.length === 0) return 'no cameras found';
  return cameras.map((c) => `${c.spec.padEnd(10)} ${c.name}${c.device && c.device !== c.spec ? `  (${c.device})` : ''}`).join('\n');
}
