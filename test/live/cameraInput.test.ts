/** Live input specs → ffmpeg input args, per platform; device-list parsing; V4L2 listing from fake /dev and /sys. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCameraList, kindOfInputSpec, listCameras, liveInputArgs, parseDeviceList, resolveLiveInput } from '../../src/node/live/cameraInput.js';

describe('liveInputArgs', () => {
  it('maps camera[:N] per platform', () => {
    expect(liveInputArgs('camera', { platform: 'linux' }).args).toEqual(['-f', 'v4l2', '-i', '/dev/video0']);
    expect(liveInputArgs('camera:2', { platform: 'linux' }).args).toEqual(['-f', 'v4l2', '-i', '/dev/video2']);
    expect(liveInputArgs('camera:1', { platform: 'darwin' }).args).toEqual(['-f', 'avfoundation', '-framerate', '30', '-i', '1:none']);
    expect(liveInputArgs('camera', { platform: 'darwin' }).args).toEqual(['-f', 'avfoundation', '-framerate', '30', '-i', '0:none']);
    expect(liveInputArgs('camera:FaceTime HD Camera', { platform: 'darwin' }).args).toEqual(['-f', 'avfoundation', '-framerate', '30', '-i', 'FaceTime HD Camera:none']);
    const names = ['Integrated Camera', 'OBS Virtual Camera'];
    expect(liveInputArgs('camera:1', { platform: 'win32', dshowNames: names })).toEqual({ args: ['-f', 'dshow', '-i', 'video=OBS Virtual Camera'], name: 'OBS Virtual Camera', kind: 'camera' });
    expect(liveInputArgs('camera:My Cam', { platform: 'win32' }).args).toEqual(['-f', 'dshow', '-i', 'video=My Cam']);
  });

  it('passes size and rate to the camera', () => {
    expect(liveInputArgs('camera:0', { platform: 'linux', size: '1280x720', framerate: 30 }).args).toEqual(['-f', 'v4l2', '-framerate', '30', '-video_size', '1280x720', '-i', '/dev/video0']);
    expect(() => liveInputArgs('camera', { platform: 'linux', size: 'big' })).toThrow(/1280x720/);
  });

  it('explains what cannot work', () => {
    expect(() => liveInputArgs('camera:5', { platform: 'win32', dshowNames: ['A'] })).toThrow(/no camera 5: found 1 \(0: A\)/);
    expect(() => liveInputArgs('camera', { platform: 'win32', dshowNames: [] })).toThrow(/no camera found/);
    expect(() => liveInputArgs('camera:front', { platform: 'linux' })).toThrow(/--list-cameras/);
    expect(() => liveInputArgs('/dev/video0', { platform: 'darwin' })).toThrow(/Linux/);
    expect(() => liveInputArgs('camera', { platform: 'freebsd' })).toThrow(/Linux, macOS and Windows/);
    expect(() => liveInputArgs('lavfi:', { platform: 'linux' })).toThrow(/filter graph/);
  });

  it('maps devices, URLs, lavfi and files', () => {
    expect(liveInputArgs('/dev/video4', { platform: 'linux' })).toEqual({ args: ['-f', 'v4l2', '-i', '/dev/video4'], name: '/dev/video4', kind: 'device' });
    expect(liveInputArgs('rtsp://cam.local/stream', { platform: 'win32' }).args).toEqual(['-rtsp_transport', 'tcp', '-i', 'rtsp://cam.local/stream']);
    for (const url of ['rtmp://h/live/x', 'http://h:8080/video', 'srt://h:9000', 'udp://239.0.0.1:1234']) {
      expect(liveInputArgs(url, { platform: 'linux' })).toEqual({ args: ['-i', url], name: url, kind: 'url' });
    }
    expect(liveInputArgs('lavfi:testsrc2=size=640x360:rate=30', { platform: 'darwin' }).args).toEqual(['-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30']);
    expect(liveInputArgs('clip.y4m', { platform: 'linux', loop: true }).args).toEqual(['-re', '-stream_loop', '-1', '-i', 'clip.y4m']);
    expect(liveInputArgs('clip.mp4', { platform: 'linux' }).args).toEqual(['-re', '-i', 'clip.mp4']);
    expect(kindOfInputSpec('Camera:1')).toBe('camera');
    expect(kindOfInputSpec('cameraman.mp4')).toBe('file');
  });

  it('resolveLiveInput needs no listing off Windows', async () => {
    expect((await resolveLiveInput('camera:3', { platform: 'linux' })).args).toEqual(['-f', 'v4l2', '-i', '/dev/video3']);
  });
});

describe('parseDeviceList', () => {
  it('reads avfoundation video devices only', () => {
    const out = [
      '[AVFoundation indev @ 0x7fb1c0f04340] AVFoundation video devices:',
      '[AVFoundation indev @ 0x7fb1c0f04340] [0] FaceTime HD Camera',
      '[AVFoundation indev @ 0x7fb1c0f04340] [1] Capture screen 0',
      '[AVFoundation indev @ 0x7fb1c0f04340] AVFoundation audio devices:',
      '[AVFoundation indev @ 0x7fb1c0f04340] [0] MacBook Pro Microphone',
      ': Input/output error',
    ].join('\n');
    expect(parseDeviceList(out, 'avfoundation')).toEqual([
      { index: 0, name: 'FaceTime HD Camera', spec: 'camera:0' },
      { index: 1, name: 'Capture screen 0', spec: 'camera:1' },
    ]);
  });

  it('reads dshow lists, old and new style', () => {
    const old = [
      '[dshow @ 000001d0] DirectShow video devices (some may be both video and audio devices)',
      '[dshow @ 000001d0]  "Integrated Camera"',
      '[dshow @ 000001d0]     Alternative name "@device_pnp_\\\\?\\usb#vid_04f2"',
      '[dshow @ 000001d0]  "OBS Virtual Camera"',
      '[dshow @ 000001d0] DirectShow audio devices',
      '[dshow @ 000001d0]  "Microphone (Realtek Audio)"',
      'dummy: Immediate exit requested',
    ].join('\r\n');
    const fresh = [
      '[dshow @ 0000020c] "Integrated Camera" (video)',
      '[dshow @ 0000020c]   Alternative name "@device_pnp_x"',
      '[dshow @ 0000020c] "Microphone (Realtek Audio)" (audio)',
      '[dshow @ 0000020c] "OBS Virtual Camera" (none)',
      '[dshow @ 0000020c] "Cam Link 4K" (video)',
    ].join('\n');
    expect(parseDeviceList(old, 'dshow')).toEqual([
      { index: 0, name: 'Integrated Camera', spec: 'camera:0', device: '@device_pnp_\\\\?\\usb#vid_04f2' },
      { index: 1, name: 'OBS Virtual Camera', spec: 'camera:1' },
    ]);
    expect(parseDeviceList(fresh, 'dshow').map((c) => c.name)).toEqual(['Integrated Camera', 'Cam Link 4K']);
  });
});

describe('listCameras on Linux', () => {
  it('lists /dev/videoN in order with names from sysfs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'backdrop-cams-'));
    try {
      const dev = join(root, 'dev');
      const sys = join(root, 'sys');
      await mkdir(dev);
      for (const n of [10, 0, 1]) await writeFile(join(dev, `video${n}`), '');
      await writeFile(join(dev, 'null'), '');
      await mkdir(join(sys, 'video0'), { recursive: true });
      await writeFile(join(sys, 'video0', 'name'), 'Integrated Camera: Integrated C\n');
      await mkdir(join(sys, 'video10'), { recursive: true });
      await writeFile(join(sys, 'video10', 'name'), 'backdrop\n');
      const cams = await listCameras({ platform: 'linux', devDir: dev, sysDir: sys });
      expect(cams.map((c) => [c.index, c.name, c.device])).toEqual([
        [0, 'Integrated Camera: Integrated C', join(dev, 'video0')],
        [1, 'video1', join(dev, 'video1')],
        [10, 'backdrop', join(dev, 'video10')],
      ]);
      expect(formatCameraList(cams)).toContain('backdrop');
      expect(await listCameras({ platform: 'linux', devDir: join(root, 'missing') })).toEqual([]);
      expect(formatCameraList([])).toBe('no cameras found');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
