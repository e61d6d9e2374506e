/**
 * CSS colour parsing: everything people type for a background colour.
 *
 * Accepts (case-insensitive, surrounding whitespace ignored) the 148 CSS named colours and
 * `transparent`, `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()` and `hsl()`/`hsla()` in
 * both the legacy comma syntax and the modern space syntax with an optional `/ alpha`. Components
 * may be numbers or percentages (mixing is allowed, `none` counts as 0), alpha may be a number
 * 0..1 or a percentage, hue may be unitless (degrees) or use deg, grad, rad or turn. Out-of-range
 * values are clamped as CSS does.
 */

/** [r, g, b, a], each an integer 0..255 (a = 255 is opaque). */
export type RGBA = [number, number, number, number];

// name:rrggbb pairs from CSS Color Module Level 4, §6.1 (named colours).
const NAMED =
  'aliceblue:f0f8ff antiquewhite:faebd7 aqua:00ffff aquamarine:7fffd4 azure:f0ffff beige:f5f5dc ' +
  'bisque:ffe4c4 black:000000 blanchedalmond:ffebcd blue:0000ff blueviolet:8a2be2 brown:a52a2a ' +
  'burlywood:deb887 cadetblue:5f9ea0 chartreuse:7fff00 chocolate:d2691e coral:ff7f50 ' +
  'cornflowerblue:6495ed cornsilk:fff8dc crimson:dc143c cyan:00ffff darkblue:00008b darkcyan:008b8b ' +
  'darkgoldenrod:b8860b darkgray:a9a9a9 darkgreen:006400 darkgrey:a9a9a9 darkkhaki:bdb76b ' +
  'darkmagenta:8b008b darkolivegreen:556b2f darkorange:ff8c00 darkorchid:9932cc darkred:8b0000 ' +
  'darksalmon:e9967a darkseagreen:8fbc8f darkslateblue:483d8b darkslategray:2f4f4f ' +
  'darkslategrey:2f4f4f darkturquoise:00ced1 darkviolet:9400d3 deeppink:ff1493 deepskyblue:00bfff ' +
  'dimgray:696969 dimgrey:696969 dodgerblue:1e90ff firebrick:b22222 floralwhite:fffaf0 ' +
  'forestgreen:228b22 fuchsia:ff00ff gainsboro:dcdcdc ghostwhite:f8f8ff gold:ffd700 ' +
  'goldenrod:daa520 gray:808080 green:008000 greenyellow:adff2f grey:808080 honeydew:f0fff0 ' +
  'hotpink:ff69b4 indianred:cd5c5c indigo:4b0082 ivory:fffff0 khaki:f0e68c lavender:e6e6fa ' +
  'lavenderblush:fff0f5 lawngreen:7cfc00 lemonchiffon:fffacd lightblue:add8e6 lightcoral:f08080 ' +
  'lightcyan:e0ffff lightgoldenrodyellow:fafad2 lightgray:d3d3d3 lightgreen:90ee90 lightgrey:d3d3d3 ' +
  'lightpink:ffb6c1 lightsalmon:ffa07a lightseagreen:20b2aa lightskyblue:87cefa ' +
  'lightslategray:778899 lightslategrey:778899 lightsteelblue:b0c4de lightyellow:ffffe0 lime:00ff00 ' +
  'limegreen:32cd32 linen:faf0e6 magenta:ff00ff maroon:800000 mediumaquamarine:66cdaa ' +
  'mediumblue:0000cd mediumorchid:ba55d3 mediumpurple:9370db mediumseagreen:3cb371 ' +
  'mediumslateblue:7b68ee mediumspringgreen:00fa9a mediumturquoise:48d1cc mediumvioletred:c71585 ' +
  'midnightblue:191970 mintcream:f5fffa mistyrose:ffe4e1 moccasin:ffe4b5 navajowhite:ffdead ' +
  'navy:000080 oldlace:fdf5e6 olive:808000 olivedrab:6b8e23 orange:ffa500 orangered:ff4500 ' +
  'orchid:da70d6 palegoldenrod:eee8aa palegreen:98fb98 paleturquoise:afeeee palevioletred:db7093 ' +
  'papayawhip:ffefd5 peachpuff:ffdab9 peru:cd853f pink:ffc0cb plum:dda0dd powderblue:b0e0e6 ' +
  'purple:800080 rebeccapurple:663399 red:ff0000 rosybrown:bc8f8f royalblue:4169e1 ' +
  'saddlebrown:8b4513 salmon:fa8072 sandybrown:f4a460 seagreen:2e8b57 seashell:fff5ee sienna:a0522d ' +
  'silver:c0c0c0 skyblue:87ceeb slateblue:6a5acd slategray:708090 slategrey:708090 snow:fffafa ' +
  'springgreen:00ff7f steelblue:4682b4 tan:d2b48c teal:008080 thistle:d8bfd8 tomato:ff6347 ' +
  'turquoise:40e0d0 violet:ee82ee wheat:f5deb3 white:ffffff whitesmoke:f5f5f5 yellow:ffff00 ' +
  'yellowgreen:9acd32 ';

let namedMap: Map<string, number> | undefined;
function lookupNamed(name: string): number | undefined {
  if (!namedMap) {
    namedMap = new Map();
    for (const pair of NAMED.split(' ')) {
      if (!pair) continue;
      const [n, hex] = pair.split(':');
      namedMap.set(n, parseInt(hex, 16));
    }
  }
  return namedMap.get(name);
}

/** The number of named colours {@link parseColor} knows (148, not counting `transparent`). */
export function namedColourCount(): number {
  lookupNamed('black');
  return namedMap!.size;
}

function invalid(css: unknown): Error {
  const shown = typeof css === 'string' ? css : String(css);
  return new Error(`invalid colour ${JSON.stringify(shown)}: use a CSS colour such as "green", "#00ff00" or "rgb(0 255 0)"`);
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/;

/** Parses a number or percentage; returns [value, isPercent] or undefined. */
function parseNumeric(token: string): [number, boolean] | undefined {
  if (token === 'none') return [0, false];
  const percent = token.endsWith('%');
  const body = percent ? token.slice(0, -1) : token;
  if (!NUMBER.test(body)) return undefined;
  const v = Number(body);
  return Number.isFinite(v) ? [v, percent] : undefined;
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** rgb() component → 0..255 float. */
function rgbComponent(token: string): number | undefined {
  const n = parseNumeric(token);
  if (!n) return undefined;
  return clamp(n[1] ? (n[0] / 100) * 255 : n[0], 0, 255);
}

/** Alpha → 0..1. */
function alphaComponent(token: string): number | undefined {
  const n = parseNumeric(token);
  if (!n) return undefined;
  return clamp(n[1] ? n[0] / 100 : n[0], 0, 1);
}

/** hsl() saturation/lightness → 0..1 (percentages, or bare numbers meaning percent). */
function percentComponent(token: string): number | undefined {
  const n = parseNumeric(token);
  if (!n) return undefined;
  return clamp(n[0] / 100, 0, 1);
}

const ANGLE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(deg|grad|rad|turn)?$/;

/** Hue → degrees in [0, 360). */
function hueComponent(token: string): number | undefined {
  if (token === 'none') return 0;
  const m = ANGLE.exec(token);
  if (!m) return undefined;
  let deg = Number(m[1]);
  switch (m[2]) {
    case 'turn': deg *= 360; break;
    case 'rad': deg *= 180 / Math.PI; break;
    case 'grad': deg *= 0.9; break;
    default: break;
  }
  if (!Number.isFinite(deg)) return undefined;
  deg %= 360;
  return deg < 0 ? deg + 360 : deg;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))) * 255;
  };
  return [f(0), f(8), f(4)];
}

/**
 * Parses a CSS colour into integer [r, g, b, a] 0..255.
 * @throws Error naming the bad input and showing accepted examples.
 */
export function parseColor(css: string): RGBA {
  if (typeof css !== 'string') throw invalid(css);
  const s = css.trim().toLowerCase();
  if (s === 'transparent') return [0, 0, 0, 0];

  if (s.startsWith('#')) {
    const hex = s.slice(1);
    if (!/^[0-9a-f]+$/.test(hex)) throw invalid(css);
    const d = (i: number): number => parseInt(hex[i], 16);
    const dd = (i: number): number => parseInt(hex.slice(i, i + 2), 16);
    switch (hex.length) {
      case 3: return [d(0) * 17, d(1) * 17, d(2) * 17, 255];
      case 4: return [d(0) * 17, d(1) * 17, d(2) * 17, d(3) * 17];
      case 6: return [dd(0), dd(2), dd(4), 255];
      case 8: return [dd(0), dd(2), dd(4), dd(6)];
      default: throw invalid(css);
    }
  }

  const named = lookupNamed(s);
  if (named !== undefined) return [(named >> 16) & 255, (named >> 8) & 255, named & 255, 255];

  const fn = /^(rgba?|hsla?)\(\s*([^()]*?)\s*\)$/.exec(s);
  if (!fn) throw invalid(css);
  const args = fn[2];
  let parts: string[];
  let alphaToken: string | undefined;
  if (args.includes(',')) {
    if (args.includes('/')) throw invalid(css);
    parts = args.split(',').map((p) => p.trim());
    if (parts.length === 4) alphaToken = parts.pop();
  } else {
    const slash = args.split('/');
    if (slash.length > 2) throw invalid(css);
    parts = slash[0].trim().split(/\s+/);
    if (slash.length === 2) {
      alphaToken = slash[1].trim();
      if (!alphaToken) throw invalid(css);
    }
  }
  if (parts.length !== 3) throw invalid(css);

  let alpha = 1;
  if (alphaToken !== undefined) {
    const a = alphaComponent(alphaToken);
    if (a === undefined) throw invalid(css);
    alpha = a;
  }

  let rgb: [number, number, number];
  if (fn[1].startsWith('rgb')) {
    const r = rgbComponent(parts[0]);
    const g = rgbComponent(parts[1]);
    const b = rgbComponent(parts[2]);
    if (r === undefined || g === undefined || b === undefined) throw invalid(css);
    rgb = [r, g, b];
  } else {
    const h = hueComponent(parts[0]);
    const sat = percentComponent(parts[1]);
    const light = percentComponent(parts[2]);
    if (h === undefined || sat === undefined || light === undefined) throw invalid(css);
    rgb = hslToRgb(h, sat, light);
  }
  return [
    Math.round(clamp(rgb[0], 0, 255)),
    Math.round(clamp(rgb[1], 0, 255)),
    Math.round(clamp(rgb[2], 0, 255)),
    Math.round(alpha * 255),
  ];
}
