/**
 * A line of Linux's /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat, split the
 * one safe way: the command name is parenthesised and may itself hold spaces
 * and parentheses, so the fields start after the line's last ')'.
 */
export interface ProcStat {
  /** The thread's or process's name (`comm`). */
  name: string;
  /** The fields after the name: [0] is `state` (stat field 3), so stat field N is at N - 3. */
  fields: string[];
}

/**
 * Indexes in ProcStat.fields of the values read here (proc(5) numbers them from 1: utime 14,
 * nice 19). stime, cutime and cstime follow utime, in that order.
 */
export const PROC_STAT_FIELD = { utime: 11, nice: 16 } as const;

export function parseProcStat(stat: string): ProcStat {
  const close = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}
