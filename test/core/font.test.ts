import { describe, expect, it } from 'vitest';
import { ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, drawText, glyph, hasGlyph, measureText } from '../../src/core/font.js';
import { createFrame, type Frame } from '../../src/core/frame.js';

const px = (f: Frame, x: number, y: number) => Array.from(f.data.subarray((y * f.width + x) * f.channels, (y * f.width + x + 1) * f.channels));

describe('bitmap font', () => {
  it('has glyphs for digits, letters (any case) and the punctuation an FPS line needs', () => {
    for (const ch of '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .:-/%|()') expect(hasGlyph(ch), ch).toBe(true);
    expect(glyph('a')).toEqual(glyph('A'));
    expect(glyph('\u00e9')).toEqual(glyph('?')); // unknown → '?'
    // Every glyph is 7 × 5, and distinct glyphs look distinct.
    const seen = new Set<string>();
    for (const ch of '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.:-/%|()') {
      const g = glyph(ch);
      expect(g).toHaveLength(GLYPH_HEIGHT);
      for (const row of g) expect(row).toHaveLength(GLYPH_WIDTH);
      const key = JSON.stringify(g);
      expect(seen.has(key), ch).toBe(false);
      seen.add(key);
    }
    // Spot checks of the bitmaps themselves.
    expect(glyph('1').map((r) => r.map((b) => (b ? '#' : ' ')).join(''))).toEqual(['  #  ', ' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### ']);
    expect(glyph(' ').flat().some(Boolean)).toBe(false);
    expect(glyph('-')[3]).toEqual([true, true, true, true, true]);
  });

  for (const channels of [3, 4] as const) {
    for (const scale of [1, 3]) {
      it(`draws exactly the glyph pixels (${channels} channels, scale ${scale})`, () => {
        const text = 'FPS 29.9';
        const f = createFrame(60 * scale, 12 * scale, channels);
        const x0 = 2 * scale, y0 = 3 * scale;
        drawText(f, text, x0, y0, { color: [255, 200, 100, 255], scale });
        for (let y = 0; y < f.height; y++) {
          for (let x = 0; x < f.width; x++) {
            // Where should ink be? Map back to character, glyph row and column.
            const fx = Math.floor((x - x0) / scale), fy = Math.floor((y - y0) / scale);
            const ci = Math.floor(fx / ADVANCE), gx = fx - ci * ADVANCE;
            const ink = x >= x0 && y >= y0 && fy < GLYPH_HEIGHT && ci < text.length && gx < GLYPH_WIDTH && glyph(text[ci])[fy][gx];
            const expected = ink ? [255, 200, 100, 255] : [0, 0, 0, 0];
            expect(px(f, x, y), `pixel ${x},${y}`).toEqual(expected.slice(0, channels));
          }
        }
      });
    }
  }

  it('clips at every edge without throwing or wrapping', () => {
    const f = createFrame(8, 6, 3);
    drawText(f, '8', -2, -3, { color: [255, 255, 255, 255] });
    // '8' rows 3..6, columns 2..4 are visible at 0..3 × 0..2.
    const g = glyph('8');
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        const gy = y + 3, gx = x + 2;
        const ink = gy < GLYPH_HEIGHT && gx < GLYPH_WIDTH && g[gy][gx];
        expect(f.data[(y * 8 + x) * 3], `${x},${y}`).toBe(ink ? 255 : 0);
      }
    }
    const g2 = createFrame(8, 6, 3);
    drawText(g2, 'W', 5, 4, { color: [255, 255, 255, 255] });
    drawText(g2, 'X', 100, 100);
    drawText(g2, 'X', -100, -100);
    // Only the bottom-right corner can hold ink.
    for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) if (x < 5 || y < 4) expect(g2.data[(y * 8 + x) * 3]).toBe(0);
    expect(g2.data[(4 * 8 + 5) * 3]).toBe(255); // W's top-left pixel
  });

  it('fills a background box (blended when translucent) and draws several lines', () => {
    const f = createFrame(40, 30, 4);
    f.data.fill(100);
    const box = drawText(f, 'A\nBC', 5, 5, { color: [255, 255, 255, 255], background: [0, 0, 0, 128], padding: 1 });
    const size = measureText('A\nBC');
    expect(size).toEqual({ width: 2 * ADVANCE - 1, height: LINE_HEIGHT + GLYPH_HEIGHT });
    expect(box).toEqual({ x: 4, y: 4, width: size.width + 2, height: size.height + 2 });
    expect(px(f, 4, 4)).toEqual([50, 50, 50, 128]); // box corner: 100 blended halfway to black; alpha = max(100, 128)
    expect(px(f, 3, 4)).toEqual([100, 100, 100, 100]); // outside the box
    // Second line, 'B' top-left pixel is ink.
    expect(glyph('B')[0][0]).toBe(true);
    expect(px(f, 5, 5 + LINE_HEIGHT)).toEqual([255, 255, 255, 255]);
  });

  it('validates the scale', () => {
    expect(() => drawText(createFrame(4, 4, 3), 'A', 0, 0, { scale: 0 })).toThrow(/scale/);
    expect(() => drawText(createFrame(4, 4, 3), 'A', 0, 0, { scale: 1.5 })).toThrow(/scale/);
  });
});
