/**
 * CPU time (user + system) of this process and of the child processes it starts, split by
 * child, for the benches: steadier than wall time on a shared machine. Linux (/proc) only.
 *
 * The children's total is exact: the kernel adds every reaped child's time to this process's
 * cutime/cstime. The split between children comes from sampling each child's own counters while
 * it runs (its last ~20 ms are not seen), scaled so the parts add up to the exact total.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** `proc`: a pid, 'self', or a thread as 'self/task/TID'. */
function statFields(proc: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${proc}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime (and, with `children`, cutime + cstime) of a process, ms. */
function cpuMs(proc: number | string, children = false): number {
  const f = statFields(proc);
  if (!f) return 0;
  // After the name: state is field 3, so utime (14) is index 11, stime 12, cutime 13, cstime 14.
  const own = Number(f[11]) + Number(f[12]);
  return (children ? Number(f[13]) + Number(f[14]) : own) * TICK_MS;
}

/** CPU time (user + system) this process's main thread has used so far, ms. */
export function mainThreadCpuMs(): number {
  return cpuMs(`self/task/${process.pid}`);
}

/** CPU time (user + system, every thread) another process has used so far, ms; 0 once it has ended. */
export function processCpuMs(pid: number): number {
  return cpuMs(pid);
}

function childPids(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const list = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (list) pids.push(...list.split(' ').map(Number));
    } catch {
      // the thread ended
    }
  }
  return pids;
}

export interface CpuReport {
  /** This process, ms. */
  self: number;
  /** All children started (and reaped) during the run, ms. */
  children: number;
  /** The children's time by the name `classify` gave each, ms (scaled to add up to `children`). */
  byChild: Map<string, number>;
}

/**
 * Runs `work` and reports the CPU it took here and in child processes; `classify` names a child
 * from its command line (e.g. 'decoder' or 'compositor'), children with the same name add up.
 */
export async function measureCpu<T>(work: () => Promise<T>, classify: (argv: string[]) => string): Promise<{ result: T; cpu: CpuReport }> {
  const self0 = process.cpuUsage();
  const children0 = cpuMs('self', true);
  const seen = new Map<number, { name: string; ms: number }>();
  const sample = () => {
    for (const pid of childPids()) {
      let entry = seen.get(pid);
      if (!entry) {
        let argv: string[] = [];
        try {
          argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        } catch {
          continue;
        }
        entry = { name: classify(argv), ms: 0 };
        seen.set(pid, entry);
      }
      entry.ms = Math.max(entry.ms, cpuMs(pid));
    }
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    const used = process.cpuUsage(self0);
    // Let the last children be reaped before reading the total.
    await new Promise((r) => setTimeout(r, 50));
    const children = cpuMs('self', true) - children0;
    const sampled = [...seen.values()].reduce((sum, e) => sum + e.ms, 0);
    const byChild = new Map<string, number>();
    for (const { name, ms } of seen.values()) byChild.set(name, (byChild.get(name) ?? 0) + (sampled > 0 ? (ms * children) / sampled : 0));
    return { result, cpu: { self: (used.user + used.system) / 1000, children, byChild } };
  } finally {
    clearInterval(timer);
  }
}
