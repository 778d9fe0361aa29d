// Timers on the network's clock, for the code under test: the same calls as
// Node's globals (setTimeout, setInterval, their clear*, and a promise sleep),
// firing in virtual time when the network is virtual.
import type { Scheduler, Task } from './scheduler';

/** What setTimeout/setInterval return: cancel it with clearTimeout/clearInterval or close(). */
export class VirtualTimer {
  #clock: Clock;
  /** @internal */ task: Task | null = null;
  /** @internal */ readonly repeat: number | null;
  /** @internal */ readonly delay: number;
  /** @internal */ readonly fire: () => void;

  /** @internal */
  constructor(clock: Clock, delay: number, repeat: boolean, fire: () => void) {
    this.#clock = clock;
    this.delay = delay;
    this.repeat = repeat ? delay : null;
    this.fire = fire;
  }

  /** Restarts the countdown from now, like Node's timeout.refresh(). */
  refresh(): this {
    this.#clock.reschedule(this);
    return this;
  }

  close(): this {
    this.#clock.clearTimeout(this);
    return this;
  }

  // Virtual timers never hold the process open; these exist so code written for Node's timers runs unchanged.
  ref(): this { return this; }
  unref(): this { return this; }
  hasRef(): boolean { return false; }
}

/** Node's rule for timer delays: anything not a number in 1..2^31-1 becomes 1. */
function delayOf(ms: unknown): number {
  const n = Number(ms);
  return n >= 1 && n <= 0x7fffffff ? n : 1;
}

export class Clock {
  #scheduler: Scheduler;

  /** @internal */
  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  /** Milliseconds of (virtual) time since the network was created. */
  now(): number {
    return this.#scheduler.now();
  }

  setTimeout<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): VirtualTimer {
    if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const timer = new VirtualTimer(this, delayOf(ms), false, () => callback(...args));
    this.reschedule(timer);
    return timer;
  }

  setInterval<A extends unknown[]>(callback: (...args: A) => void, ms?: number, ...args: A): VirtualTimer {
    if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const timer = new VirtualTimer(this, delayOf(ms), true, () => callback(...args));
    this.reschedule(timer);
    return timer;
  }

  clearTimeout(timer: VirtualTimer | null | undefined): void {
    if (!(timer instanceof VirtualTimer) || timer.task === null) return;
    this.#scheduler.cancel(timer.task);
    timer.task = null;
  }

  clearInterval(timer: VirtualTimer | null | undefined): void {
    this.clearTimeout(timer);
  }

  /** A promise that resolves after `ms` of clock time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** @internal */
  reschedule(timer: VirtualTimer): void {
    if (timer.task !== null) this.#scheduler.cancel(timer.task);
    const run = (): void => {
      timer.task = null;
      // An interval is re-armed before its callback runs, so the callback may clear it.
      if (timer.repeat !== null) this.reschedule(timer);
      timer.fire();
    };
    timer.task = this.#scheduler.at(this.#scheduler.now() + timer.delay, run, true);
  }
}
