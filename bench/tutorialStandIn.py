#!/usr/bin/env python3
"""A stand-in for the Python tutorial backdrop grew from, for `npm run bench -- video`.

The tutorial (OpenCV + MediaPipe's SelfieSegmentation, landscape model) cannot run here: MediaPipe's
Python package is not in Debian and PyPI is out of reach. This does the same work per frame with
Debian's python3-opencv (4.6) and numpy, and runs the same landscape model backdrop uses (the
MediaPipe .tflite converted to ONNX by backdrop's converter) on OpenCV's DNN module in place of
MediaPipe's TFLite/XNNPACK runtime:

  decode a BGR frame (cv2.VideoCapture); resize it to the model's 256x144, values in [0,1], and run
  the model (fed BGR, as the tutorial does, though the model wants RGB); upscale the mask to the
  frame bilinearly; hard cut `mask > threshold` over three channels; GaussianBlur 35x35 of the whole
  frame; np.where; FPS meter bookkeeping; cv2.VideoWriter, fourcc mp4v, no audio.

Usage: tutorialStandIn.py MODEL.onnx INPUT OUTPUT.mp4
Prints one JSON line: frames, fps (model loaded; from opening the input to closing the output, as
backdrop's own fps), OpenCV's thread count, and ms per frame by step ("model" is the model call
alone: setInput + forward).
"""
import json
import sys
import time
from collections import deque

import cv2
import numpy as np

THRESHOLD = 0.5
BLUR_KERNEL = (35, 35)
IN_W, IN_H = 256, 144  # the landscape model's input (NHWC)


class FpsMeter:
    """The tutorial's meter: fps averaged over the last `window` frames."""

    def __init__(self, window=30):
        self.times = deque(maxlen=window)

    def tick(self):
        self.times.append(time.perf_counter())
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tutorialStandIn.py MODEL.onnx INPUT OUTPUT.mp4")
    model_path, input_path, output_path = sys.argv[1:]
    # OpenCV's default thread count is kept (not tuned), and reported.
    threads = cv2.getNumThreads()
    net = cv2.dnn.readNetFromONNX(model_path)

    steps = dict.fromkeys(["decode", "resize_in", "model", "mask", "blur", "where", "encode"], 0.0)
    clock = time.perf_counter
    started = clock()
    capture = cv2.VideoCapture(input_path)
    if not capture.isOpened():
        sys.exit(f"cannot open {input_path}")
    # The tutorial passes the source's rate as an int (29.97 becomes 29); kept, it costs nothing.
    rate = int(capture.get(cv2.CAP_PROP_FPS))
    writer = None
    meter = FpsMeter()
    frames = 0
    while True:
        t0 = clock()
        ok, frame = capture.read()
        t1 = clock()
        steps["decode"] += t1 - t0
        if not ok:
            break
        h, w = frame.shape[:2]
        if writer is None:
            writer = cv2.VideoWriter(output_path, cv2.VideoWriter_fourcc(*"mp4v"), rate, (w, h))
        # MediaPipe's pre-processing: the model's size, float in [0,1] (BGR in, as the tutorial feeds it).
        tensor = cv2.resize(frame, (IN_W, IN_H), interpolation=cv2.INTER_LINEAR).astype(np.float32) * (1 / 255)
        t2 = clock()
        net.setInput(tensor[np.newaxis])
        out = net.forward()
        t3 = clock()
        # MediaPipe returns the mask at the frame's size, bilinearly upscaled.
        mask = cv2.resize(out[0, :, :, 0], (w, h), interpolation=cv2.INTER_LINEAR)
        condition = np.stack((mask,) * 3, axis=-1) > THRESHOLD
        t4 = clock()
        background = cv2.GaussianBlur(frame, BLUR_KERNEL, 0)
        t5 = clock()
        frame = np.where(condition, frame, background)
        t6 = clock()
        meter.tick()
        writer.write(frame)
        t7 = clock()
        steps["resize_in"] += t2 - t1
        steps["model"] += t3 - t2
        steps["mask"] += t4 - t3
        steps["blur"] += t5 - t4
        steps["where"] += t6 - t5
        steps["encode"] += t7 - t6
        frames += 1
    capture.release()
    if writer is not None:
        writer.release()
    seconds = clock() - started
    if frames == 0:
        sys.exit(f"no frame decoded from {input_path}")
    print(json.dumps({
        "frames": frames,
        "fps": frames / seconds,
        "threads": threads,
        "opencv": cv2.__version__,
        "ms": {k: 1000 * v / frames for k, v in steps.items()},
    }))


if __name__ == "__main__":
    main()
