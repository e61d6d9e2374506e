/// <reference lib="dom" />
/**
 * The FPS overlay over the preview (the seed's FPSmetric): frames per second, new masks per second
 * and milliseconds per stage, from the processor's rolling metrics. Not part of the video: it is
 * a DOM element, so recordings stay clean. Toggled with the f key.
 */
import type { ProcessorMetrics } from '../src/browser/index.js';

export interface OverlayInput {
  metrics: ProcessorMetrics;
  width: number;
  height: number;
  /** Per-stage ms of the compositor's last frame, or undefined (WebGL measures them only when profiling). */
  stages: Readonly<Record<string, number>> | undefined;
  processed: boolean;
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** Stages in pipeline order, so the line reads the same way every frame (others follow). */
const STAGE_ORDER = ['upload', 'maskUpload', 'temporal', 'guide', 'blurDownsample', 'blurGaussian', 'composite'];
const stageRank = (k: string): number => {
  const i = STAGE_ORDER.indexOf(k);
  return i < 0 ? STAGE_ORDER.length : i;
};

export function overlayText({ metrics: m, width, height, stages, processed }: OverlayInput): string {
  if (!processed) return `${width}×${height}  raw camera (no effect: the model is not loaded)`;
  const lines = [
    `${fmt(m.fps)} fps   masks ${fmt(m.maskFps)}/s   ${width}×${height}`,
    `inference ${fmt(m.ms.inference)} ms${m.inferencesPerMask > 1 ? ` (${fmt(m.inferencesPerMask)} runs, ROI zoom)` : ''}   model input ${fmt(m.ms.modelInput)} ms`,
    `composite ${fmt(m.ms.composite)} ms   frame total ${fmt(m.ms.total)} ms`,
  ];
  const stageNames = stages ? Object.keys(stages).filter((k) => k !== 'render' && k !== 'modelInput' && stages[k] > 0) : [];
  stageNames.sort((a, b) => stageRank(a) - stageRank(b));
  if (stages && stageNames.length) lines.push(stageNames.map((k) => `${k} ${fmt(stages[k])}`).join('  '));
  lines.push(`${m.compositor} · ${m.backend}${m.dropped ? ` · ${m.dropped} dropped` : ''}`);
  return lines.join('\n');
}
