/**
 * A small built-in bitmap font (no font files): 5×7 glyphs for digits, A–Z (lower case is drawn as
 * upper case), space and . , : ; - + / % | ( ) [ ] _ = ? ! # x, drawn into RGB/RGBA frames at an
 * integer scale, clipped at the frame's edges. Enough for an FPS counter and per-stage timings.
 */
import type { RGBA } from './color.js';
import type { Frame } from './frame.js';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character and line height, in font pixels (glyph + 1 px gap). */
export const ADVANCE = GLYPH_WIDTH + 1;
export const LINE_HEIGHT = GLYPH_HEIGHT + 2;

// Each glyph: 7 rows, 5 columns, '#' = ink.
const GLYPH_ROWS: Record<string, string> = {
  '0': ' ### |#   #|#  ##|# # #|##  #|#   #| ### ',
  '1': '  #  | ##  |  #  |  #  |  #  |  #  | ### ',
  '2': ' ### |#   #|    #|   # |  #  | #   |#####',
  '3': '#####|   # |  #  |   # |    #|#   #| ### ',
  '4': '   # |  ## | # # |#  # |#####|   # |   # ',
  '5': '#####|#    |#### |    #|    #|#   #| ### ',
  '6': '  ## | #   |#    |#### |#   #|#   #| ### ',
  '7': '#####|    #|   # |  #  | #   | #   | #   ',
  '8': ' ### |#   #|#   #| ### |#   #|#   #| ### ',
  '9': ' ### |#   #|#   #| ####|    #|   # | ##  ',
  A: ' ### |#   #|#   #|#####|#   #|#   #|#   #',
  B: '#### |#   #|#   #|#### |#   #|#   #|#### ',
  C: ' ### |#   #|#    |#    |#    |#   #| ### ',
  D: '###  |#  # |#   #|#   #|#   #|#  # |###  ',
  E: '#####|#    |#    |#### |#    |#    |#####',
  F: '#####|#    |#    |#### |#    |#    |#    ',
  G: ' ### |#   #|#    |# ###|#   #|#   #| ####',
  H: '#   #|#   #|#   #|#####|#   #|#   #|#   #',
  I: ' ### |  #  |  #  |  #  |  #  |  #  | ### ',
  J: '  ###|   # |   # |   # |   # |#  # | ##  ',
  K: '#   #|#  # |# #  |##   |# #  |#  # |#   #',
  L: '#    |#    |#    |#    |#    |#    |#####',
  M: '#   #|## ##|# # #|# # #|#   #|#   #|#   #',
  N: '#   #|#   #|##  #|# # #|#  ##|#   #|#   #',
  O: ' ### |#   #|#   #|#   #|#   #|#   #| ### ',
  P: '#### |#   #|#   #|#### |#    |#    |#    ',
  Q: ' ### |#   #|#   #|#   #|# # #|#  # | ## #',
  R: '#### |#   #|#   #|#### |# #  |#  # |#   #',
  S: ' ####|#    |#    | ### |    #|    #|#### ',
  T: '#####|  #  |  #  |  #  |  #  |  #  |  #  ',
  U: '#   #|#   #|#   #|#   #|#   #|#   #| ### ',
  V: '#   #|#   #|#   #|#   #|#   #| # # |  #  ',
  W: '#   #|#   #|#   #|# # #|# # #|# # #| # # ',
  X: '#   #|#   #| # # |  #  | # # |#   #|#   #',
  Y: '#   #|#   #| # # |  #  |  #  |  #  |  #  ',
  Z: '#####|    #|   # |  #  | #   |#    |#####',
  ' ': '     |     |     |     |     |     |     ',
  '.': '     |     |     |     |     | ##  | ##  ',
  ',': '     |     |     |     | ##  |  #  | #   ',
  ':': '     | ##  | ##  |     | ##  | ##  |     ',
  ';': '     | ##  | ##  |     | ##  |  #  | #   ',
  '-': '     |     |     |#####|     |     |     ',
  '+': '     |  #  |  #  |#####|  #  |  #  |     ',
  '/': '    #|    #|   # |  #  | #   |#    |#    ',
  '%': '##   |##  #|   # |  #  | #   |#  ##|   ##',
  '|': '  #  |  #  |  #  |  #  |  #  |  #  |  #  ',
  '(': '   # |  #  | #   | #   | #   |  #  |   # ',
  ')': ' #   |  #  |   # |   # |   # |  #  | #   ',
  '[': ' ### | #   | #   | #   | #   | #   | ### ',
  ']': ' ### |   # |   # |   # |   # |   # | ### ',
  _: '     |     |     |     |     |     |#####',
  '=': '     |     |#####|     |#####|     |     ',
  '?': ' ### |#   #|    #|   # |  #  |     |  #  ',
  '!': '  #  |  #  |  #  |  #  |  #  |     |  #  ',
  '#': ' # # | # # |#####| # # |#####| # # | # # ',
  '×': '     |#   #| # # |  #  | # # |#   #|     ',
};

/** Glyph bitmaps: 7 rows, bit 4 = leftmost column. */
const GLYPHS = new Map<string, Uint8Array>();
for (const [ch, rows] of Object.entries(GLYPH_ROWS)) {
  const lines = rows.split('|');
  const bits = new Uint8Array(GLYPH_HEIGHT);
  for (let r = 0; r < GLYPH_HEIGHT; r++) {
    for (let c = 0; c < GLYPH_WIDTH; c++) if (lines[r][c] === '#') bits[r] |= 1 << (GLYPH_WIDTH - 1 - c);
  }
  GLYPHS.set(ch, bits);
}

/**
 * The bitmap of a character: GLYPH_HEIGHT rows of GLYPH_WIDTH booleans (true = ink). Lower case
 * maps to upper case; characters without a glyph are drawn as '?'.
 */
export function glyph(ch: string): boolean[][] {
  const bits = glyphBits(ch);
  return Array.from(bits, (row) => Array.from({ length: GLYPH_WIDTH }, (_, c) => (row & (1 << (GLYPH_WIDTH - 1 - c))) !== 0));
}

function glyphBits(ch: string): Uint8Array {
  return GLYPHS.get(ch) ?? GLYPHS.get(ch.toUpperCase()) ?? GLYPHS.get('?')!;
}

/** Whether the font has a glyph for a character (after upper-casing). */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch) || GLYPHS.has(ch.toUpperCase());
}

export interface TextOptions {
  /** Ink colour; alpha < 255 blends. Default opaque white. */
  color?: RGBA;
  /** Size of one font pixel in frame pixels (integer ≥ 1). Default 1. */
  scale?: number;
  /** Fill a box behind the text (with `padding`) in this colour; alpha < 255 blends. Default none. */
  background?: RGBA | null;
  /** Box padding around the text, in font pixels. Default 1. */
  padding?: number;
}

/** Size in frame pixels of `text` (lines split on '\n') at `scale`, without any box padding. */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const lines = text.split('\n');
  const cols = Math.max(...lines.map((l) => [...l].length));
  // The last column of a line has no trailing gap; the last line no line gap.
  const width = cols === 0 ? 0 : (cols * ADVANCE - 1) * scale;
  const height = (lines.length * LINE_HEIGHT - (LINE_HEIGHT - GLYPH_HEIGHT)) * scale;
  return { width, height };
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`text scale must be an integer ≥ 1, got ${scale}`);
}

/**
 * Draws `text` into the frame with its top-left corner at (x, y) (frame pixels, may be negative or
 * beyond the frame: whatever falls outside is clipped). Modifies `frame.data` in place. Returns the
 * rectangle covered (box included), before clipping.
 */
export function drawText(frame: Frame, text: string, x: number, y: number, options: TextOptions = {}): { x: number; y: number; width: number; height: number } {
  const scale = options.scale ?? 1;
  checkScale(scale);
  const color = options.color ?? [255, 255, 255, 255];
  const padding = (options.padding ?? 1) * scale;
  x = Math.round(x);
  y = Math.round(y);
  const size = measureText(text, scale);
  const box = { x: x - padding, y: y - padding, width: size.width + 2 * padding, height: size.height + 2 * padding };
  if (options.background) fillRect(frame, box.x, box.y, box.width, box.height, options.background);
  const lines = text.split('\n');
  for (let l = 0; l < lines.length; l++) {
    const top = y + l * LINE_HEIGHT * scale;
    let col = 0;
    for (const ch of lines[l]) {
      const bits = glyphBits(ch);
      const left = x + col * ADVANCE * scale;
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const row = bits[r];
        if (row === 0) continue;
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (row & (1 << (GLYPH_WIDTH - 1 - c))) fillRect(frame, left + c * scale, top + r * scale, scale, scale, color);
        }
      }
      col++;
    }
  }
  return box;
}

/** Fills (blends, when alpha < 255) a rectangle, clipped to the frame. RGBA frames get alpha = max(old, colour alpha). */
export function fillRect(frame: Frame, x: number, y: number, width: number, height: number, color: RGBA): void {
  const { width: W, height: H, channels: C, data } = frame;
  const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(W, Math.round(x + width)), y1 = Math.min(H, Math.round(y + height));
  if (x1 <= x0 || y1 <= y0) return;
  const [r, g, b, a] = color;
  const t = a / 255;
  for (let yy = y0; yy < y1; yy++) {
    let o = (yy * W + x0) * C;
    for (let xx = x0; xx < x1; xx++, o += C) {
      if (a >= 255) {
        data[o] = r;
        data[o + 1] = g;
        data[o + 2] = b;
      } else {
        data[o] = Math.round(data[o] + (r - data[o]) * t);
        data[o + 1] = Math.round(data[o + 1] + (g - data[o + 1]) * t);
        data[o + 2] = Math.round(data[o + 2] + (b - data[o + 2]) * t);
      }
      if (C === 4 && data[o + 3] < a) data[o + 3] = a;
    }
  }
}
