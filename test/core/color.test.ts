import { describe, expect, it } from 'vitest';
import { namedColourCount, parseColor } from '../../src/core/color.js';

describe('parseColor', () => {
  it('knows the CSS named colours and transparent', () => {
    expect(namedColourCount()).toBe(148);
    expect(parseColor('green')).toEqual([0, 128, 0, 255]);
    expect(parseColor('  RebeccaPurple ')).toEqual([102, 51, 153, 255]);
    expect(parseColor('lightgoldenrodyellow')).toEqual([250, 250, 210, 255]);
    expect(parseColor('grey')).toEqual([128, 128, 128, 255]);
    expect(parseColor('Transparent')).toEqual([0, 0, 0, 0]);
  });

  it('parses hex in all four lengths', () => {
    expect(parseColor('#0f0')).toEqual([0, 255, 0, 255]);
    expect(parseColor('#0f08')).toEqual([0, 255, 0, 136]);
    expect(parseColor('#00FF00')).toEqual([0, 255, 0, 255]);
    expect(parseColor('#12345680')).toEqual([0x12, 0x34, 0x56, 128]);
  });

  it('parses rgb()/rgba() in comma and space syntax', () => {
    expect(parseColor('rgb(0, 255, 0)')).toEqual([0, 255, 0, 255]);
    expect(parseColor('rgb(0 255 0)')).toEqual([0, 255, 0, 255]);
    expect(parseColor('RGBA(255,0,0,0.5)')).toEqual([255, 0, 0, 128]);
    expect(parseColor('rgb(0 255 0 / 50%)')).toEqual([0, 255, 0, 128]);
    expect(parseColor('rgba(10 20 30 / .25)')).toEqual([10, 20, 30, 64]);
    expect(parseColor('rgb(100%, 0%, 50%)')).toEqual([255, 0, 128, 255]);
    expect(parseColor('rgb(300, -5, 12.6)')).toEqual([255, 0, 13, 255]);
    expect(parseColor('rgb(0 0 0 / 2)')).toEqual([0, 0, 0, 255]);
  });

  it('parses hsl()/hsla() with deg, turn, rad and grad', () => {
    expect(parseColor('hsl(120, 100%, 50%)')).toEqual([0, 255, 0, 255]);
    expect(parseColor('hsl(120deg 100% 25%)')).toEqual([0, 128, 0, 255]);
    expect(parseColor('hsl(0.5turn 100% 50%)')).toEqual([0, 255, 255, 255]);
    expect(parseColor('hsl(3.14159265rad 100% 50%)')).toEqual([0, 255, 255, 255]);
    expect(parseColor('hsl(200grad 100% 50%)')).toEqual([0, 255, 255, 255]);
    expect(parseColor('hsla(-120, 100%, 50%, 0.5)')).toEqual([0, 0, 255, 128]);
    expect(parseColor('hsl(240 100% 25% / 50%)')).toEqual([0, 0, 128, 128]);
    expect(parseColor('hsl(30, 100%, 50%)')).toEqual([255, 128, 0, 255]);
    expect(parseColor('hsl(0 0% 100%)')).toEqual([255, 255, 255, 255]);
  });

  it('rejects bad input with a helpful message', () => {
    const bad = ['xyz', '', '#12', '#ggg', '#12345', 'rgb(1,2)', 'rgb(1 2 3 4)', 'rgb(1, 2 3)', 'rgb(1 2 3 /)',
      'rgb(1 2 3 / 4 / 5)', 'rgb(a, b, c)', 'hsl(1foo 2% 3%)', 'rgb(1,2,3', 'rgb(1, 2, 3, 0.5) x', 'blue-ish'];
    for (const s of bad) expect(() => parseColor(s), s).toThrow(Error);
    expect(() => parseColor('xyz')).toThrow('invalid colour "xyz": use a CSS colour such as "green", "#00ff00" or "rgb(0 255 0)"');
    expect(() => parseColor(42 as unknown as string)).toThrow(/invalid colour "42"/);
  });
});
