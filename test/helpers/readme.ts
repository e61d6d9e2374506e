/** Pieces of README.md, so that tests run and compare what the README prints, not a copy of it. */
import { readFileSync } from 'node:fs';

export function readme(): string {
  return readFileSync('README.md', 'utf8');
}

/** The text of a `## heading` or `### heading` section, up to the next heading of the same or a higher level. */
export function readmeSection(heading: string, text = readme()): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#{2,3} /.test(l) && l.replace(/^#+ /, '') === heading);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const level = /^#+/.exec(lines[start])![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The first fenced code block of a language (```js) in a README section, without its fences. */
export function readmeCodeBlock(heading: string, lang: string): string {
  const m = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'm').exec(readmeSection(heading));
  if (!m) throw new Error(`README.md's "${heading}" has no \`\`\`${lang} block`);
  return m[1];
}
