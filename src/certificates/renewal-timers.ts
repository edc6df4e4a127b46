/**
 * One timer per name of a stream, firing when its leaf is due for renewal.
 * Node timers hold at most 2^31-1 ms (~24.8 days); a later time is reached
 * in steps.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RenewalTimers {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly onDue: (name: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  schedule(name: string, at: number): void {
    const existing = this.timers.get(name);
    if (existing !== undefined && existing.at === at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const arm = (): NodeJS.Timeout => {
      const wait = Math.max(0, at - this.now());
      const timer = setTimeout(
        () => {
          if (wait > MAX_TIMER_MS) {
            this.timers.set(name, { at, timer: arm() });
            return;
          }
          this.timers.delete(name);
          this.onDue(name);
        },
        Math.min(wait, MAX_TIMER_MS),
      );
      timer.unref();
      return timer;
    };
    this.timers.set(name, { at, timer: arm() });
  }

  cancel(name: string): void {
    const existing = this.timers.get(name);
    if (existing === undefined) return;
    clearTimeout(existing.timer);
    this.timers.delete(name);
  }

  cancelAll(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
