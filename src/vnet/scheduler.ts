// The network's event queue and its notion of time. Every future happening
// (a datagram arriving, a user timer firing) is a task ordered by (time, seq):
// seq breaks ties in scheduling order, which is what makes a run replayable.
//
// Virtual mode: time stands still until advance() moves it. advance() pops the
// tasks due, in order, and between two instants lets the code under test
// react: every process.nextTick and promise job queued by what just ran
// (Socket's callbacks, 'connect', awaits) runs before virtual time moves on.
// No real timer is involved, so a virtual hour costs no wall time.
// Realtime mode: the same queue, driven by one real timer armed for its head.

export interface Task {
  time: number;
  seq: number;
  run(): void;
  /** A user callback: the code under test gets a turn right after it, as between Node's timers. */
  readonly yields: boolean;
  cancelled: boolean;
}

const noop = (): void => {};

export class Scheduler {
  readonly realtime: boolean;
  #heap: Task[] = [];
  #seq = 0;
  #now = 0;
  #origin: number;
  #advancing = false;
  #soon: (() => void)[] = [];
  #soonArmed = false;
  #inInstant = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** Where a realtime task's exception goes (virtual mode rejects advance() instead). */
  onError: (err: unknown) => void = (err) => { throw err; };

  constructor(realtime: boolean) {
    this.realtime = realtime;
    this.#origin = performance.now();
  }

  /** Milliseconds since the network was created. */
  now(): number {
    return this.realtime ? performance.now() - this.#origin : this.#now;
  }

  /** Runs `run` at virtual time `time` (not before now). */
  at(time: number, run: () => void, yields = false): Task {
    return this.schedule({ time, seq: 0, run, yields, cancelled: false });
  }

  /** Queues a task object (its time is raised to now, its seq assigned here). */
  schedule<T extends Task>(task: T): T {
    task.time = Math.max(task.time, this.now());
    task.seq = this.#seq++;
    this.#push(task);
    if (this.realtime) this.#arm();
    return task;
  }

  /**
   * Runs `fn` at the end of the current instant, after the tasks due (or at
   * the next instant when none is running). Receiving sockets drain this way:
   * all datagrams arriving at one instant make one batch, and no task per datagram.
   */
  soon(fn: () => void): void {
    this.#soon.push(fn);
    if (!this.#inInstant && !this.#soonArmed) {
      this.#soonArmed = true;
      this.at(this.now(), noop);
    }
  }

  #flushSoon(): void {
    for (let i = 0; i < this.#soon.length; i++) this.#soon[i]!();
    this.#soon.length = 0;
    this.#soonArmed = false;
  }

  cancel(task: Task): void {
    task.cancelled = true;
  }

  /** Tasks still waiting (cancelled ones excluded). */
  pending(): number {
    let n = 0;
    for (const t of this.#heap) if (!t.cancelled) n++;
    return n;
  }

  advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !(ms >= 0) || ms === Infinity) {
      return Promise.reject(new RangeError(`advance(ms): ms must be a finite number >= 0. Received ${String(ms)}`));
    }
    if (this.realtime) return new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#advancing) return Promise.reject(new Error('advance() is already running; await it before calling it again'));
    this.#advancing = true;
    const target = this.#now + ms;
    return new Promise<void>((resolve, reject) => {
      // One instant per immediate. Node drains process.nextTick and promise
      // jobs between two immediates of one check phase, so queuing the
      // immediates in batches gives the code under test its full turn between
      // instants without paying a whole event-loop iteration for each one.
      let finished = false;
      let queued = 0;
      let batch = 1;
      const step = (): void => {
        queued--;
        if (finished) return;
        try {
          const head = this.#heap[0];
          if (head === undefined || head.time > target) {
            finished = true;
            this.#now = target;
            this.#advancing = false;
            resolve();
            return;
          }
          this.#now = head.time;
          // Everything due at this instant (a user timer ends it early, as Node runs ticks between timers).
          this.#inInstant = true;
          while (this.#heap.length > 0 && this.#heap[0]!.time <= this.#now) {
            const task = this.#pop();
            if (task.cancelled) continue;
            task.run();
            if (task.yields) break;
          }
          this.#flushSoon();
          this.#inInstant = false;
        } catch (err) {
          this.#inInstant = false;
          this.#soon.length = 0;
          this.#soonArmed = false;
          finished = true;
          this.#advancing = false;
          reject(err);
          return;
        }
        if (queued === 0) more();
      };
      const more = (): void => {
        for (let i = 0; i < batch; i++) setImmediate(step);
        queued += batch;
        batch = Math.min(batch * 2, 1024);
      };
      // The first step comes after the caller's own pending ticks (sends flush on the next tick).
      more();
    });
  }

  #arm(): void {
    const head = this.#peekLive();
    if (head === undefined) return;
    if (this.#timer !== undefined && this.#timerAt <= head.time) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = head.time;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      const now = this.now();
      try {
        this.#inInstant = true;
        while (this.#heap.length > 0 && this.#heap[0]!.time <= now) {
          const task = this.#pop();
          if (!task.cancelled) task.run();
        }
        this.#flushSoon();
      } catch (err) {
        this.#soon.length = 0;
        this.#soonArmed = false;
        this.onError(err);
      } finally {
        this.#inInstant = false;
        this.#arm();
      }
    }, Math.max(0, head.time - this.now()));
  }

  #peekLive(): Task | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0];
  }

  // A binary min-heap on (time, seq).
  #less(a: Task, b: Task): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  #push(task: Task): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(task);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(task, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = task;
  }

  #pop(): Task {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.#less(heap[r]!, heap[l]!) ? r : l;
        if (!this.#less(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
