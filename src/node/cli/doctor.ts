/**
 * `backdrop doctor`: one screen on what backdrop runs on here (runtime, models, ffmpeg, Chromium)
 * and, under each missing or slow piece, the one command that fixes it. Exit status 1 when
 * something needs fixing (Chromium, which only a checkout's tests use, never counts).
 */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { about, runDoctor, type Check, type CheckStatus } from '../doctor.js';
import type { CliIO } from './io.js';

const NEEDS_FIXING: CheckStatus[] = ['slow', 'limited', 'missing'];

export function addDoctorCommand(program: Command, io: CliIO): void {
  program
    .command('doctor')
    .description('check what backdrop runs on here (runtime, models, ffmpeg, Chromium) and say how to fix what is missing or slow')
    .option('--json', 'print the checks as JSON on stdout')
    .action(async (options: { json?: boolean }) => {
      const checks = await runDoctor();
      const toFix = checks.filter((c) => NEEDS_FIXING.includes(c.status));
      io.exitCode = toFix.length ? 1 : 0;
      // `backdrop --json doctor` gives --json to the program (an option before the command is its).
      if (options.json || program.opts().json) {
        io.stdout(JSON.stringify({ ok: toFix.length === 0, ...about(), node: process.version, checks }, null, 2) + '\n');
        return;
      }
      io.stdout(render(checks, toFix.length));
    });
}

const WIDTH = 100;
const INDENT = ' '.repeat(20);

function render(checks: Check[], toFix: number): string {
  const { version, root } = about();
  const lines = [`backdrop ${version} at ${root}`, `Node ${process.version} on ${process.platform} ${process.arch}, ${availableParallelism()} cores`, ''];
  for (const check of checks) {
    lines.push(...wrap(`${check.status.padEnd(9)} ${check.name.padEnd(9)} ${check.detail}`));
    if (check.fix) lines.push(`${INDENT}fix: ${check.fix}`);
  }
  lines.push('', toFix === 0 ? 'All set: backdrop has everything it uses.' : `${toFix} to fix: run the command under ${toFix === 1 ? 'it' : 'each'}, then \`backdrop doctor\` again.`);
  return lines.join('\n') + '\n';
}

/** Word-wraps a line to WIDTH columns, continuation lines indented under the detail. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    const cut = rest.lastIndexOf(' ', WIDTH);
    if (cut <= INDENT.length) break;
    out.push(rest.slice(0, cut));
    rest = INDENT + rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}
