/// <reference lib="dom" />
/**
 * The background gallery: the project's licence-clean photos (assets/, public domain / CC0),
 * backgrounds drawn here on a canvas, and pictures the user uploads. Every entry is decoded once
 * into an ImageBitmap (the compositor uploads it to the GPU once, when it changes).
 */
import coffeeUrl from '../assets/coffee.png?url';
import hubbleUrl from '../assets/hubble_deep_field.jpg?url';
import rocketUrl from '../assets/rocket.jpg?url';

export interface Background {
  name: string;
  /** Where it comes from, for the tooltip. */
  credit: string;
  image: ImageBitmap;
  /** A small picture for the gallery button. */
  thumbnail: string;
}

const W = 1280, H = 720;

async function thumbnailOf(image: CanvasImageSource, width: number, height: number): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = 160;
  canvas.height = 90;
  const ctx = canvas.getContext('2d')!;
  const scale = Math.max(160 / width, 90 / height);
  ctx.drawImage(image, (160 - width * scale) / 2, (90 - height * scale) / 2, width * scale, height * scale);
  return canvas.toDataURL('image/jpeg', 0.8);
}

export async function backgroundFromBlob(blob: Blob, name: string, credit: string): Promise<Background> {
  let image: ImageBitmap;
  try {
    image = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    throw new Error(`${name} is not an image this browser can decode`);
  }
  return { name, credit, image, thumbnail: await thumbnailOf(image, image.width, image.height) };
}

async function fromUrl(url: string, name: string, credit: string): Promise<Background> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${name}: HTTP ${response.status}`);
  return backgroundFromBlob(await response.blob(), name, credit);
}

/** A seeded pseudo-random sequence, so generated backgrounds look the same on every load. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Painter = (ctx: CanvasRenderingContext2D) => void;

const painters: { name: string; paint: Painter }[] = [
  {
    name: 'Studio',
    paint(ctx) {
      const g = ctx.createRadialGradient(W * 0.5, H * 0.42, 40, W * 0.5, H * 0.5, W * 0.75);
      g.addColorStop(0, '#8e949c');
      g.addColorStop(0.55, '#4b5058');
      g.addColorStop(1, '#1b1d21');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, W, H);
    },
  },
  {
    name: 'Sunset',
    paint(ctx) {
      const g = ctx.createLinearGradient(0, 0, 0, H);
      g.addColorStop(0, '#2b1055');
      g.addColorStop(0.45, '#d53369');
      g.addColorStop(0.8, '#f8a13f');
      g.addColorStop(1, '#fcd872');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, W, H);
      ctx.fillStyle = 'rgba(255, 236, 170, 0.85)';
      ctx.beginPath();
      ctx.arc(W * 0.72, H * 0.78, 90, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#1c0f2e';
      ctx.beginPath();
      ctx.moveTo(0, H);
      for (let x = 0; x <= W; x += 40) ctx.lineTo(x, H * 0.82 - 40 * Math.sin(x / 140) - 25 * Math.sin(x / 53));
      ctx.lineTo(W, H);
      ctx.fill();
    },
  },
  {
    name: 'Bokeh',
    paint(ctx) {
      const g = ctx.createLinearGradient(0, 0, W, H);
      g.addColorStop(0, '#0f2027');
      g.addColorStop(0.5, '#203a43');
      g.addColorStop(1, '#2c5364');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, W, H);
      const rnd = random(7);
      ctx.globalCompositeOperation = 'lighter';
      for (let i = 0; i < 70; i++) {
        const x = rnd() * W, y = rnd() * H, r = 20 + rnd() * 70;
        const hue = 30 + rnd() * 180;
        const c = ctx.createRadialGradient(x, y, 0, x, y, r);
        c.addColorStop(0, `hsla(${hue}, 80%, 70%, 0.35)`);
        c.addColorStop(0.8, `hsla(${hue}, 80%, 60%, 0.18)`);
        c.addColorStop(1, `hsla(${hue}, 80%, 60%, 0)`);
        ctx.fillStyle = c;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.globalCompositeOperation = 'source-over';
    },
  },
  {
    name: 'Blueprint',
    paint(ctx) {
      ctx.fillStyle = '#0d3b66';
      ctx.fillRect(0, 0, W, H);
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.12)';
      ctx.lineWidth = 1;
      for (let x = 0; x <= W; x += 32) {
        ctx.beginPath();
        ctx.moveTo(x + 0.5, 0);
        ctx.lineTo(x + 0.5, H);
        ctx.stroke();
      }
      for (let y = 0; y <= H; y += 32) {
        ctx.beginPath();
        ctx.moveTo(0, y + 0.5);
        ctx.lineTo(W, y + 0.5);
        ctx.stroke();
      }
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.3)';
      ctx.lineWidth = 2;
      for (let x = 0; x <= W; x += 160) {
        ctx.beginPath();
        ctx.moveTo(x, 0);
        ctx.lineTo(x, H);
        ctx.stroke();
      }
      for (let y = 0; y <= H; y += 160) {
        ctx.beginPath();
        ctx.moveTo(0, y);
        ctx.lineTo(W, y);
        ctx.stroke();
      }
    },
  },
];

async function generated(name: string, paint: Painter): Promise<Background> {
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2D is not available');
  paint(ctx);
  return { name, credit: 'drawn by backdrop', image: await createImageBitmap(canvas), thumbnail: await thumbnailOf(canvas, W, H) };
}

/** The built-in gallery, in order. Entries that fail to load are left out (and reported). */
export async function builtinBackgrounds(onError: (e: unknown) => void): Promise<Background[]> {
  const all = await Promise.allSettled([
    fromUrl(hubbleUrl, 'Hubble Deep Field', 'NASA, public domain (assets/README.md)'),
    fromUrl(rocketUrl, 'Falcon 9 launch', 'SpaceX, public domain (assets/README.md)'),
    fromUrl(coffeeUrl, 'Coffee', 'Rachel Michetti, CC0 (assets/README.md)'),
    ...painters.map((p) => generated(p.name, p.paint)),
  ]);
  const ok: Background[] = [];
  for (const r of all) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else onError(r.reason);
  }
  return ok;
}
