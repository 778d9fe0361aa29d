// udpkit/promises: an awaitable face on the drop-in Socket.
//
// Built only on udpkit's public surface (createSocket, Socket and its
// extensions sendMany, 'messages', pauseReceiving/resumeReceiving and
// getRecvDropCount), so everything here could be written by a user too.

import type { AddressInfo } from 'node:net';
import { createSocket as createRawSocket, Socket } from './socket';
import type { Datagram } from './socket';
import { socketNotRunning } from './errors';

export type { Datagram };

/** The options object the drop-in `createSocket()` takes. */
export type RawSocketOptions = Exclude<Parameters<typeof createRawSocket>[0], string>;

/** One entry of a `sendMany()` list, as the drop-in socket takes it. */
export type SendManyEntry = Parameters<Socket['sendMany']>[0][number];

/** What `send()` accepts as a message. */
export type SendData = SendManyEntry['data'];

export interface PromiseSocketOptions extends RawSocketOptions {
  /** Port to bind; 0 or omitted picks a free one. */
  port?: number;
  /** Address to bind; omitted binds all interfaces. */
  address?: string;
  /** Passed to bind(): see node:dgram's `exclusive`. */
  exclusive?: boolean;
  /**
   * Aborting rejects a pending `createSocket()` with an AbortError and, at any
   * later time, closes the socket (as node:dgram's `signal` does).
   */
  signal?: AbortSignal;
  /**
   * How many received datagrams may wait in the socket's queue for a consumer
   * before it stops reading from the kernel (default 1024). Reading resumes
   * when the queue has drained below half of it.
   */
  highWaterMark?: number;
}

export interface SignalOption {
  signal?: AbortSignal;
}

/** The error an aborted operation rejects with (like Node's own AbortError). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** A `sendMany()` rejection: the first error, plus how many datagrams did go out. */
export interface SendManyError extends Error {
  sent: number;
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

function validateSignal(signal: unknown, name: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    const err = new TypeError(`The "${name}" property must be an instance of AbortSignal`);
    (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
}

const DEFAULT_HIGH_WATER_MARK = 1024;

interface Waiter {
  /** A batch reader takes the rest of a batch, a message reader one datagram. */
  whole: boolean;
  resolve(value: Datagram[] | null): void;
  reject(err: unknown): void;
}

/**
 * A bound UDP socket with promise-returning methods and async iteration over
 * the datagrams it receives. Made by `createSocket()` of `udpkit/promises`.
 */
export class PromiseSocket implements AsyncIterable<Datagram> {
  /** The underlying drop-in socket (node:dgram's Socket API plus udpkit's extensions). */
  readonly socket: Socket;
  /** The receive queue's high water mark, in datagrams. */
  readonly highWaterMark: number;

  #queue: Datagram[][] = [];
  #head = 0; // index of the next datagram in #queue[0]
  #queued = 0;
  #waiters: Waiter[] = [];
  #error: unknown = null;
  #closed = false;
  #paused = false;
  #pauseCount = 0;
  #closing: Promise<void> | null = null;
  /** Sends whose callback has not come: node:dgram drops a send that close() overtakes without calling it back. */
  #unsent = new Set<(err: Error | null, bytes: number) => void>();

  /** @internal Use `createSocket()`. */
  constructor(socket: Socket, highWaterMark: number) {
    this.socket = socket;
    this.highWaterMark = highWaterMark;
    socket.on('messages', (batch: Datagram[]) => this.#onBatch(batch));
    socket.on('error', (err: Error) => this.#onError(err));
    socket.once('close', () => this.#onClose());
  }

  /** Datagrams received and waiting for a consumer. */
  get queuedCount(): number {
    return this.#queued;
  }

  /** True while reading from the kernel is paused because the queue is full. */
  get receivingPaused(): boolean {
    return this.#paused;
  }

  /** How many times the queue filled up and reading was paused. */
  get pauseCount(): number {
    return this.#pauseCount;
  }

  /** True once the socket has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Datagrams the kernel dropped because the socket's receive buffer was full
   * (SO_RXQ_OVFL), or -1 where the platform does not report it.
   */
  get droppedCount(): number {
    if (this.#closed) return this.#lastDropCount;
    try {
      this.#lastDropCount = this.socket.getRecvDropCount();
    } catch {
      // not bound / already closed: keep the last value
    }
    return this.#lastDropCount;
  }
  #lastDropCount = -1;

  /** The bound address: `{ address, family, port }`. */
  address(): AddressInfo {
    return this.socket.address();
  }

  /** The connected peer's address. Throws ERR_SOCKET_DGRAM_NOT_CONNECTED if not connected. */
  remoteAddress(): AddressInfo {
    return this.socket.remoteAddress();
  }

  /**
   * Sends one datagram. Resolves with the number of bytes sent.
   * On a connected socket, omit port and address: `send(data)` or `send(data, { signal })`.
   */
  send(data: SendData, options?: SignalOption): Promise<number>;
  send(data: SendData, port: number, options?: SignalOption): Promise<number>;
  send(data: SendData, port: number, address?: string | null, options?: SignalOption): Promise<number>;
  send(
    data: SendData,
    portOrOptions?: number | SignalOption,
    addressOrOptions?: string | null | SignalOption,
    maybeOptions?: SignalOption,
  ): Promise<number> {
    let port: number | undefined;
    let address: string | undefined;
    let options: SignalOption | undefined;
    if (typeof portOrOptions === 'object' && portOrOptions !== null) {
      options = portOrOptions;
    } else {
      port = portOrOptions;
      if (typeof addressOrOptions === 'object' && addressOrOptions !== null) options = addressOrOptions;
      else {
        address = addressOrOptions ?? undefined;
        options = maybeOptions;
      }
    }
    const signal = options?.signal;
    return new Promise<number>((resolve, reject) => {
      validateSignal(signal, 'options.signal');
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null, bytes: number): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#unsent.delete(done);
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(bytes);
      };
      const msg = data as Parameters<Socket['send']>[0];
      if (port === undefined) this.socket.send(msg, done);
      else if (address === undefined) this.socket.send(msg, port, done);
      else this.socket.send(msg, port, address, done);
      this.#unsent.add(done); // after send(): it may throw, and never calls back synchronously
    });
  }

  /**
   * Sends every datagram of `list` in as few system calls as possible.
   * Resolves with the number sent; rejects with the first error, which
   * carries `sent` (how many did go out).
   */
  sendMany(list: readonly SendManyEntry[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.socket.sendMany(list, (err: Error | null, sent: number) => {
        if (err) reject(Object.assign(err, { sent }) as SendManyError);
        else resolve(sent);
      });
    });
  }

  /** Associates the socket with a remote address; resolves once connected. */
  connect(port: number, address?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => {
        if (err) reject(err);
        else resolve();
      };
      if (address === undefined) this.socket.connect(port, cb);
      else this.socket.connect(port, address, cb);
    });
  }

  /** Dissociates a connected socket (synchronous, like node:dgram's). */
  disconnect(): void {
    this.socket.disconnect();
  }

  /**
   * Closes the socket. Resolves once it has closed; pending and later reads
   * end (after the datagrams already queued). Calling it again is harmless.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#closed) return (this.#closing = Promise.resolve());
    this.#closing = new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      try {
        this.socket.close();
      } catch {
        // already closed underneath us (e.g. by an abort signal)
        resolve();
      }
    });
    return this.#closing;
  }

  /** `await using sock = await createSocket(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Async iteration over single datagrams: `for await (const m of socket)`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Datagram> {
    return this.messages();
  }

  /**
   * Async iteration over single datagrams, with an AbortSignal: aborting
   * rejects the pending `next()` with an AbortError and ends the iteration.
   * Ending the iteration (break, return, abort) does not close the socket.
   */
  messages(options?: SignalOption): AsyncIterableIterator<Datagram> {
    const signal = options?.signal;
    validateSignal(signal, 'options.signal');
    const next = this.#makeReader(signal, false);
    const it: AsyncIterableIterator<Datagram> = {
      next: () => next.read() as Promise<IteratorResult<Datagram>>,
      return: (): Promise<IteratorResult<Datagram>> => {
        next.finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /**
   * Async iteration over received batches: each value is an array of the
   * datagrams that arrived together (as many as are queued, at least one).
   */
  batches(options?: SignalOption): AsyncIterableIterator<Datagram[]> {
    const signal = options?.signal;
    validateSignal(signal, 'options.signal');
    const next = this.#makeReader(signal, true);
    const it: AsyncIterableIterator<Datagram[]> = {
      next: () => next.read() as Promise<IteratorResult<Datagram[]>>,
      return: (): Promise<IteratorResult<Datagram[]>> => {
        next.finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  // A reader: one iterator's state. `read()` resolves with the next datagram
  // (or batch), or done once the socket has closed and the queue is empty.
  #makeReader(
    signal: AbortSignal | undefined,
    wholeBatches: boolean,
  ): { read(): Promise<IteratorResult<Datagram | Datagram[]>>; finish(): void } {
    let finished = false;
    let pending: Waiter | null = null;
    const finish = (): void => {
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      if (pending) {
        const w = pending;
        pending = null;
        this.#removeWaiter(w);
        w.resolve(null);
      }
    };
    const onAbort = (): void => {
      if (finished) return;
      const w = pending;
      finished = true;
      pending = null;
      if (w) {
        this.#removeWaiter(w);
        w.reject(abortError(signal as AbortSignal));
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = { done: true, value: undefined } as const;
    const read = (): Promise<IteratorResult<Datagram | Datagram[]>> => {
      if (finished) return Promise.resolve(done);
      if (signal?.aborted) {
        finished = true;
        return Promise.reject(abortError(signal));
      }
      if (this.#queued > 0) {
        return Promise.resolve({ done: false, value: wholeBatches ? this.#takeBatch() : this.#takeOne() });
      }
      if (this.#error !== null) {
        const err = this.#error;
        this.#error = null;
        finish();
        return Promise.reject(err);
      }
      if (this.#closed) {
        finish();
        return Promise.resolve(done);
      }
      if (pending) return Promise.reject(new Error('next() called while a previous next() is still pending'));
      return new Promise<IteratorResult<Datagram | Datagram[]>>((resolve, reject) => {
        const w: Waiter = {
          whole: wholeBatches,
          resolve: (batch) => {
            pending = null;
            if (batch === null) {
              finish();
              resolve(done);
            } else if (wholeBatches) {
              resolve({ done: false, value: batch });
            } else {
              resolve({ done: false, value: batch[0] });
            }
          },
          reject: (err) => {
            pending = null;
            finished = true;
            signal?.removeEventListener('abort', onAbort);
            reject(err);
          },
        };
        pending = w;
        this.#waiters.push(w);
      });
    };
    return { read, finish };
  }

  #removeWaiter(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  #onBatch(batch: Datagram[]): void {
    if (batch.length === 0) return;
    let offset = 0;
    // Hand datagrams straight to waiting readers (a waiting reader means the
    // queue is empty), the rest goes into the queue.
    while (this.#waiters.length > 0 && offset < batch.length) {
      const w = this.#waiters.shift() as Waiter;
      // A batch reader takes everything left of this batch, a message reader one.
      const rest = offset === 0 ? batch : batch.slice(offset);
      w.resolve(rest);
      offset += w.whole ? rest.length : 1;
    }
    if (offset < batch.length) {
      const rest = offset === 0 ? batch : batch.slice(offset);
      this.#queue.push(rest);
      this.#queued += rest.length;
      if (!this.#paused && this.#queued >= this.highWaterMark && !this.#closed) {
        this.#paused = true;
        this.#pauseCount++;
        this.socket.pauseReceiving();
      }
    }
  }

  #takeOne(): Datagram {
    const first = this.#queue[0];
    const d = first[this.#head++];
    if (this.#head >= first.length) {
      this.#queue.shift();
      this.#head = 0;
    }
    this.#queued--;
    this.#maybeResume();
    return d;
  }

  #takeBatch(): Datagram[] {
    const first = this.#queue.shift() as Datagram[];
    const batch = this.#head === 0 ? first : first.slice(this.#head);
    this.#head = 0;
    this.#queued -= batch.length;
    this.#maybeResume();
    return batch;
  }

  #maybeResume(): void {
    if (this.#paused && this.#queued < this.highWaterMark / 2) {
      this.#paused = false;
      if (!this.#closed) this.socket.resumeReceiving();
    }
  }

  #onError(err: Error): void {
    const w = this.#waiters.shift();
    if (w) w.reject(err);
    else this.#error = err;
  }

  #onClose(): void {
    this.#lastDropCount = this.droppedCount;
    this.#closed = true;
    this.#paused = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(null);
    // A send the close overtook never left: say so rather than leave its promise pending forever.
    const unsent = [...this.#unsent];
    this.#unsent.clear();
    for (const done of unsent) done(socketNotRunning(), 0);
  }
}

/**
 * Creates a socket and binds it: resolves with a `PromiseSocket` once it is
 * listening, rejects with the bind error (the socket is then closed), or with
 * an AbortError if `options.signal` aborts first.
 */
export function createSocket(options: PromiseSocketOptions | 'udp4' | 'udp6'): Promise<PromiseSocket> {
  const opts: PromiseSocketOptions = typeof options === 'string' ? { type: options } : options;
  return new Promise<PromiseSocket>((resolve, reject) => {
    if (opts === null || typeof opts !== 'object') {
      const err = new TypeError('The "options" argument must be of type object or one of "udp4", "udp6"');
      (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
      throw err;
    }
    const { port, address, exclusive, highWaterMark, ...raw } = opts;
    const signal = opts.signal;
    validateSignal(signal, 'options.signal');
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const hwm = highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (!Number.isInteger(hwm) || hwm < 1) {
      const err = new RangeError(`The "options.highWaterMark" property must be an integer >= 1. Received ${String(hwm)}`);
      (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
      throw err;
    }
    const socket = createRawSocket(raw as RawSocketOptions);
    const wrapped = new PromiseSocket(socket, hwm);
    let settled = false;
    const cleanup = (): void => {
      socket.removeListener('listening', onListening);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onListening = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(wrapped);
    };
    const onError = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      void wrapped.close();
      reject(err);
    };
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      void wrapped.close();
      reject(abortError(signal as AbortSignal));
    };
    socket.once('listening', onListening);
    socket.prependListener('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      socket.bind({ port: port ?? 0, address, exclusive });
    } catch (err) {
      onError(err as Error);
    }
  });
}
