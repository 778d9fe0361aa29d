// The dgram.Socket state machine: unbound → binding → bound → closed, connected
// or not. It validates like node:dgram, queues work issued before the socket is
// listening, resolves names, and batches sends issued in one tick into one
// datapath call; receiving hands each datagram of a batch to 'message'.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isatty } from 'node:tty';
import { deprecate } from 'node:util';
import {
  BIND_IPV6ONLY, BIND_REUSEADDR, BIND_REUSEPORT, RECV_META_STRIDE, SocketOption,
  type Datapath, type DatapathSocket, type Family, type Payload, type RecvSink,
  RECV_INFO_STRIDE, RECV_PACKET_INFO, RECV_ECN, RECV_TIMESTAMPS,
} from './datapath/types';
import {
  bufferOutOfBounds, closedHandle, ipBlocked, errnoException, exceptionWithHostPort, invalidArgType, invalidArgValue,
  invalidFdType, missingArgs, socketAlreadyBound, socketBadBufferSize, socketBadType,
  socketBufferSizeError, socketIsConnected, socketNotConnected, socketNotRunning, outOfRange, unsupportedFeature,
} from './errors';
import { Resolver, type LookupFunction } from './lookup';
import { bindFailureDropsCallback, legacyMembersRemoved, syncBindAndConnect } from './node-line';
import {
  addPacketInfo, datagramOptions, icmpEvent, receiveFeatureMask, sendOptions,
  type DatagramOptions, type PacketInfo, type QueuedOptions, type ReceiveFeatureOptions,
} from './features';
import {
  isArrayBufferView, toWirePort, validateAbortSignal, validateFunction, validatePort,
  validateString, validateUint32,
} from './validate';

export type SocketType = 'udp4' | 'udp6';

export interface SocketOptions extends ReceiveFeatureOptions {
  type: SocketType;
  reuseAddr?: boolean;
  /** SO_REUSEPORT (Node 22's option): several sockets, even in several processes, share one port. */
  reusePort?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  lookup?: LookupFunction;
  signal?: AbortSignal;
  /** Datagrams from addresses in this list are dropped silently (Node 22's option). */
  receiveBlockList?: BlockList;
  /** Sends and connects to addresses in this list fail with ERR_IP_BLOCKED (Node 22's option). */
  sendBlockList?: BlockList;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
  fd?: number;
}

export interface RemoteInfo extends PacketInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** One received datagram, as the 'messages' batch event and the promise API carry it. */
export interface Datagram extends PacketInfo {
  data: Buffer;
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/** One entry of `sendMany()` (source, ecn and segmentSize: see features.ts). */
export interface OutgoingDatagram extends DatagramOptions {
  data: string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;
  port?: number;
  address?: string;
}

export type SendCallback = (error: Error | null, bytes: number) => void;
type MessageBuffer = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;

const enum BindState { Unbound, Binding, Bound }
const enum ConnectState { Disconnected, Connecting, Connected }

/**
 * Work issued before the socket is listening, run in order when it is. As in
 * node:dgram, a failed bind drops it silently: queued sends are never sent
 * and their callbacks never called; the socket's 'error' says what happened.
 */
interface QueuedWork {
  run(): void;
}

/** Datagrams handed to the kernel in one datapath call at most. */
const MAX_SEND_BATCH = 1024;
const EAGAIN = -11;
const ECANCELED = -125;
const EBADF = -9;
const EMPTY = Buffer.alloc(0);
const NO_PORTS = new Int32Array(0);

let datapath: Datapath | undefined;
function getDatapath(): Datapath {
  // Loaded on first use so that importing the module stays cheap.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  datapath ??= (require('./datapath/native') as { nativeDatapath: Datapath }).nativeDatapath;
  return datapath;
}

/** Lets a different datapath (the virtual network) stand behind new sockets. */
export function useDatapath(dp: Datapath): void {
  datapath = dp;
}

/**
 * @internal The options key under which udpkit/vnet gives one Socket a
 * datapath of its own. A symbol, so it can be neither passed by accident nor
 * seen on the public module; such a socket never shares a cluster binding.
 */
export const kDatapath = Symbol('udpkit.datapath');

function toBuffer(chunk: string | ArrayBufferView): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** An array message's chunks as buffers, or null when one of them is not sendable. */
function bufferList(list: ReadonlyArray<unknown>): Uint8Array[] | null {
  const out = new Array<Uint8Array>(list.length);
  for (let i = 0; i < list.length; i++) {
    const chunk = list[i];
    if (typeof chunk === 'string') out[i] = Buffer.from(chunk);
    else if (isArrayBufferView(chunk)) out[i] = toBuffer(chunk);
    else return null;
  }
  return out;
}

/** Node's offset/length slice: both coerced with >>> 0, then bounds-checked. */
function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Uint8Array {
  let view: Uint8Array;
  if (typeof buffer === 'string') view = Buffer.from(buffer);
  else if (isArrayBufferView(buffer)) view = toBuffer(buffer);
  else throw invalidArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], buffer);
  const start = (offset as number) >>> 0;
  const count = (length as number) >>> 0;
  if (start > view.byteLength) throw bufferOutOfBounds('offset');
  if (start + count > view.byteLength) throw bufferOutOfBounds('length');
  return new Uint8Array(view.buffer, view.byteOffset + start, count);
}

function payloadSize(payload: Payload): number {
  if (payload instanceof Uint8Array) return payload.byteLength;
  let n = 0;
  for (const chunk of payload) n += chunk.byteLength;
  return n;
}

function isClusterWorker(): boolean {
  // Node deletes NODE_UNIQUE_ID from a worker's env during startup, so ask cluster (as node:dgram does at bind).
  return (require('node:cluster') as { isWorker: boolean }).isWorker;
}

function interfaceExists(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(networkInterfaces(), name);
}

function fdTypeName(fd: number, errno: number): string {
  if (errno === EBADF) return 'UNKNOWN';
  if (errno === -22 /* EINVAL: a socket, not a datagram one */) return 'TCP';
  try {
    const st = fs.fstatSync(fd);
    if (st.isFIFO()) return 'PIPE';
    if (st.isCharacterDevice() && isatty(fd)) return 'TTY';
    if (st.isSocket()) return 'UNIX';
    return 'FILE';
  } catch {
    return 'UNKNOWN';
  }
}

// Set by Socket's static block: how the legacy members below reach a socket's view.
let legacyOf: (socket: Socket) => LegacyView;

export class Socket extends EventEmitter {
  type: SocketType;

  #family: Family;
  #handle: DatapathSocket | null;
  #resolver: Resolver;
  #bindState = BindState.Unbound;
  #connectState = ConnectState.Disconnected;
  #receiving = false;
  #paused = false;
  #refed = true;
  #reuseAddr: boolean;
  #reusePort: boolean;
  #ipv6Only: boolean;
  #recvBufferSize: number | undefined;
  #sendBufferSize: number | undefined;
  #queue: QueuedWork[] | undefined;
  /** Where a failed bind takes its callbacks away itself (bindFailureDropsCallback): how. */
  #bindCallbacks: (() => void)[] | undefined;
  #familyName: 'IPv4' | 'IPv6';

  // Outgoing datagrams not yet handed to the kernel, from #outHead on.
  #outPayloads: Payload[] = [];
  #outAddresses: (string | null)[] = [];
  #outPorts = NO_PORTS; // its own (off-heap) array from the first send on
  #outCallbacks: (SendCallback | undefined)[] = [];
  #outSizes: number[] = []; // measured once, at push
  #outLength = 0;
  #outHead = 0;
  #outQueuedBytes = 0;
  #flushScheduled = false;
  #blocked = false;
  /** sendMany() calls whose callback has not come yet (see close()). */
  #unfinishedBatches = new Set<(err: Error) => void>();

  readonly #sink: RecvSink;
  // A field, not a WeakMap entry: the key of a WeakMap entry survives every
  // young-generation collection, so each socket was promoted to the old
  // generation and churning sockets grew the heap for good.
  readonly #legacy: LegacyView;
  static {
    legacyOf = (socket) => socket.#legacy;
  }
  #releaseShared: (() => void) | undefined;
  #ownDatapath: boolean;
  #receiveBlockList: BlockList | undefined;
  #sendBlockList: BlockList | undefined;

  // Issue 12's features (features.ts): what createSocket asked for, what the
  // kernel turned on, and per-datagram send options beside the send queue.
  #recvFeatures = 0;
  #recvFeaturesOn = 0;
  #outOptions: (QueuedOptions | undefined)[] = [];
  #outOptionCount = 0;

  /** @internal Use createSocket(). */
  constructor(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    let options: Partial<SocketOptions> = {};
    let lookup: LookupFunction | undefined;
    // Checked in node:dgram's order: buffer sizes, lookup, then the type.
    if (type !== null && typeof type === 'object') {
      options = type;
      if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
      if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
      type = options.type as SocketType;
      lookup = options.lookup;
      if (lookup !== undefined) validateFunction(lookup, 'lookup');
    }
    if (type !== 'udp4' && type !== 'udp6') throw socketBadType();

    this.type = type;
    this.#family = type === 'udp4' ? 4 : 6;
    this.#familyName = type === 'udp4' ? 'IPv4' : 'IPv6';
    this.#resolver = new Resolver(this.#family, lookup);
    const own = (options as { [kDatapath]?: Datapath })[kDatapath];
    this.#ownDatapath = own !== undefined;
    this.#handle = (own ?? getDatapath()).createSocket(this.#family);
    this.#reuseAddr = !!options.reuseAddr;
    this.#reusePort = !!options.reusePort;
    this.#ipv6Only = !!options.ipv6Only;
    this.#recvBufferSize = options.recvBufferSize;
    if (options.receiveBlockList !== undefined) {
      if (!(options.receiveBlockList instanceof BlockList)) {
        throw invalidArgType('options.receiveBlockList', 'net.BlockList', options.receiveBlockList);
      }
      this.#receiveBlockList = options.receiveBlockList;
    }
    if (options.sendBlockList !== undefined) {
      if (!(options.sendBlockList instanceof BlockList)) {
        throw invalidArgType('options.sendBlockList', 'net.BlockList', options.sendBlockList);
      }
      this.#sendBlockList = options.sendBlockList;
    }
    this.#sendBufferSize = options.sendBufferSize;
    this.#recvFeatures = receiveFeatureMask(options);
    if (typeof listener === 'function') this.on('message', listener);

    this.#sink = {
      onBatch: (count, data) => this.#onBatch(count, data),
      onRecvError: (errno) => {
        if (this.#handle) this.emit('error', errnoException(errno, 'recvmsg'));
      },
      onWritable: () => {
        this.#blocked = false;
        this.#flush();
      },
      onIcmp: (reports) => {
        for (const report of reports) {
          if (!this.#handle) return;
          this.emit('icmp', icmpEvent(report));
        }
      },
    };

    this.#legacy = {
      handle: () => {
        const handle = this.#handle;
        // What old code reads off Node's handle: mostly `fd`, often to pass it
        // to another process, so from then on the descriptor counts as shared.
        return handle && {
          get fd(): number {
            const fd = handle.fd();
            if (fd >= 0) handle.share();
            return fd;
          },
        };
      },
      receiving: () => this.#receiving,
      bindState: () => this.#bindState,
      queue: () => this.#queue,
      reuseAddr: () => this.#reuseAddr,
      healthCheck: () => { this.#healthCheck(); },
      stopReceiving: () => {
        if (this.#receiving && this.#handle) this.#handle.stopReceiving();
        this.#receiving = false;
      },
    };

    const signal = options.signal;
    if (signal !== undefined) {
      validateAbortSignal(signal, 'options.signal');
      if (signal.aborted) {
        this.close();
      } else {
        const onAbort = (): void => this.#closeIfOpen();
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  #closeIfOpen(): void {
    if (this.#handle) this.close();
  }

  #healthCheck(): DatapathSocket {
    if (!this.#handle) throw socketNotRunning();
    return this.#handle;
  }

  // ---------------------------------------------------------------- bind

  bind(port?: number | BindOptions | (() => void), address?: string | (() => void), callback?: () => void): this;
  // Two declared parameters, as node:dgram's bind has (bind.length === 2).
  bind(port_?: unknown, address_?: unknown): this {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    let port: unknown = port_;
    let address: unknown;
    let exclusive = false;
    const handle = this.#healthCheck();
    if (this.#bindState !== BindState.Unbound) throw socketAlreadyBound();
    this.#bindState = BindState.Binding;

    const last = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof last === 'function') this.#onceBound(last as () => void);

    if (port !== null && typeof port === 'object') {
      const opts = port as BindOptions;
      const fd = opts.fd;
      if (typeof fd === 'number' && Number.isInteger(fd) && fd > 0 && fd <= 0x7FFFFFFF) {
        const err = handle.open(fd);
        if (err < 0) {
          this.#bindState = BindState.Unbound;
          if (err === EBADF || err === -88 /* ENOTSOCK */ || err === -22) throw invalidFdType(fdTypeName(fd, err));
          throw errnoException(err, 'open');
        }
        this.#startListening();
        return this;
      }
      address = opts.address;
      exclusive = !!opts.exclusive;
      port = opts.port;
    } else {
      address = typeof address_ === 'function' ? '' : address_;
    }

    if (!address) address = this.#family === 4 ? '0.0.0.0' : '::';

    const afterLookup = (err: Error | null, ip: string): void => {
      if (!this.#handle) return; // closed while resolving
      if (err) {
        this.#bindFailed(err);
        return;
      }
      // reusePort sockets are each their own (the kernel spreads the load), as in Node 22.
      if (!exclusive && !this.#reusePort && !this.#ownDatapath && isClusterWorker()) this.#bindShared(ip, port);
      else this.#bindResolved(ip, port);
    };
    const literal = this.#resolver.bindLiteral(address);
    if (literal !== null) process.nextTick(afterLookup, null, literal);
    else this.#resolver.resolve(address, afterLookup);
    return this;
  }

  /**
   * bind()'s callback, as node:dgram registers it: a 'listening' listener
   * that a failed bind takes away again, so a bind retried from the 'error'
   * handler leaves nothing behind. Up to 24.20 and 26.7 an 'error' listener
   * of its own does that (so with a callback a failed bind's 'error' is not
   * thrown even when the user has no listener); later, #bindFailed does it
   * before emitting (see bindFailureDropsCallback).
   */
  #onceBound(callback: () => void): void {
    const onListening = (): void => {
      removeListeners();
      callback.call(this);
    };
    const removeListeners = (): void => {
      this.removeListener('listening', onListening);
      this.removeListener('error', removeListeners);
      this.#bindCallbacks = this.#bindCallbacks?.filter((f) => f !== removeListeners);
    };
    this.on('listening', onListening);
    if (bindFailureDropsCallback) (this.#bindCallbacks ??= []).push(removeListeners);
    else this.on('error', removeListeners);
  }

  /** A bind that did not happen: queued work and bind callbacks are dropped (see QueuedWork), then 'error'. */
  #bindFailed(err: Error): void {
    this.#bindState = BindState.Unbound;
    this.#dropQueue();
    const callbacks = this.#bindCallbacks;
    this.#bindCallbacks = undefined;
    if (callbacks) for (const remove of callbacks) remove();
    this.emit('error', err);
  }

  #bindFlags(): number {
    let flags = 0;
    if (this.#reuseAddr) flags |= BIND_REUSEADDR;
    if (this.#reusePort) flags |= BIND_REUSEPORT;
    if (this.#ipv6Only) flags |= BIND_IPV6ONLY;
    return flags;
  }

  #bindResolved(ip: string, port: unknown): void {
    const handle = this.#handle!;
    const err = handle.bind(ip, toWirePort(port), this.#bindFlags());
    if (err < 0) {
      this.#bindFailed(exceptionWithHostPort(err, 'bind', ip, toWirePort(port)));
      return;
    }
    this.#startListening();
  }

  /**
   * In a cluster worker a non-exclusive bind shares one socket among the
   * workers, as node:dgram does: the primary owns it, this worker gets a
   * descriptor of its own for it (see cluster.ts) and reads from it here.
   */
  #bindShared(ip: string, port: unknown): void {
    const wirePort = toWirePort(port);
    const request = { address: ip, port: wirePort, addressType: this.#family, flags: this.#bindFlags() };
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { acquireShared } = require('./cluster') as typeof import('./cluster');
    acquireShared(this, request, (errno, fd, release) => {
      const handle = this.#handle;
      if (!handle) {
        release();
        return;
      }
      if (errno < 0) {
        this.#bindFailed(exceptionWithHostPort(errno, 'bind', ip, wirePort));
        return;
      }
      const err = handle.open(fd);
      if (err < 0) {
        release();
        this.#bindFailed(exceptionWithHostPort(err, 'bind', ip, wirePort));
        return;
      }
      this.#releaseShared = release;
      this.#startListening();
    });
  }

  /** Bound: receiving starts and 'listening' is emitted, now or (bindSync) on the next tick. */
  #startListening(emitLater = false): void {
    const handle = this.#handle!;
    this.#bindState = BindState.Bound;
    if (this.#recvFeatures !== 0) this.#applyRecvFeatures(handle);
    this.#startReceiving(handle);
    if (this.#recvBufferSize) this.#bufferSize(this.#recvBufferSize, SocketOption.RecvBufferSize);
    if (this.#sendBufferSize) this.#bufferSize(this.#sendBufferSize, SocketOption.SendBufferSize);
    if (emitLater) process.nextTick(() => this.emit('listening'));
    else this.emit('listening');
  }

  /**
   * Node 24's bindSync(options): binds before returning, to an IP literal only
   * (no resolving), and returns address(); 'listening' follows on the next tick.
   * Errors are thrown, not emitted. (Only where node:dgram has it: see syncBindAndConnect.)
   */
  bindSync(options?: { port?: number; address?: string; exclusive?: boolean }): AddressInfo;
  // No declared parameter: node:dgram's bindSync.length is 0.
  bindSync(...args: [({ port?: number; address?: string; exclusive?: boolean } | undefined)?]): AddressInfo {
    const handle = this.#healthCheck();
    let options = args[0];
    if (options === undefined) options = {};
    else if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgType('options', 'object', options);
    }
    if (this.#bindState !== BindState.Unbound) throw socketAlreadyBound();
    const port = options.port == null ? 0 : validatePort(options.port, 'options.port');
    let address: unknown = options.address;
    if (address !== undefined) validateString(address, 'options.address');
    if (!address) address = this.#family === 4 ? '0.0.0.0' : '::';
    else if (!isIP(address as string)) {
      throw invalidArgValue('options.address', address, 'must be a numeric IP address; bindSync does not perform DNS resolution');
    }
    const err = handle.bind(address as string, port, this.#bindFlags());
    if (err < 0) throw exceptionWithHostPort(err, 'bind', address as string, port);
    this.#startListening(true);
    return this.address();
  }

  /**
   * Node 24's connectSync(port, address): binds if needed and connects before
   * returning, to an IP literal only; 'connect' follows on the next tick.
   */
  connectSync(port: number, address?: string): void {
    const handle = this.#healthCheck();
    port = validatePort(port, 'Port', false);
    if (this.#connectState !== ConnectState.Disconnected) throw socketIsConnected();
    if (address === undefined || address === null) address = '';
    else validateString(address, 'address');
    const host = address || (this.#family === 4 ? '127.0.0.1' : '::1');
    if (!isIP(host)) {
      throw invalidArgValue('address', address, 'must be a numeric IP address; connectSync does not perform DNS resolution');
    }
    if (this.#bindState === BindState.Unbound) this.bindSync();
    else if (this.#bindState === BindState.Binding) throw socketAlreadyBound();
    if (this.#sendBlockList?.check(host, isIPv6(host) ? 'ipv6' : 'ipv4')) throw ipBlocked(host);
    const rc = handle.connect(host, port);
    if (rc < 0) throw exceptionWithHostPort(rc, 'connect', host, port);
    this.#connectState = ConnectState.Connected;
    process.nextTick(() => this.emit('connect'));
  }

  #startReceiving(handle: DatapathSocket): void {
    if (!this.#refed) handle.unref();
    if (this.#paused) return;
    const err = handle.startReceiving(this.#sink);
    if (err < 0) throw errnoException(err, 'recvStart');
    this.#receiving = true;
  }

  /**
   * Multicast calls on a socket without a descriptor bind it to the wildcard
   * address first, at the kernel level only, as node:dgram (libuv) does: the
   * socket does not become 'listening', and a later bind() fails with EINVAL.
   */
  #membershipPrecheck(handle: DatapathSocket, group: unknown, syscall: string): void {
    if (typeof group !== 'string' || isIP(group.split('%')[0]!) === 0) throw errnoException(-22, syscall);
    if (handle.fd() < 0) handle.bind(this.#family === 4 ? '0.0.0.0' : '::', 0, BIND_REUSEADDR);
  }

  #enqueue(work: QueuedWork): void {
    if (this.#queue === undefined) {
      this.#queue = [];
      this.once('listening', this.#onListenSuccess);
    }
    this.#queue.push(work);
  }

  readonly #onListenSuccess = (): void => {
    const queue = this.#queue;
    this.#queue = undefined;
    if (queue) for (const work of queue) work.run();
  };

  #dropQueue(): void {
    if (this.#queue === undefined) return;
    this.removeListener('listening', this.#onListenSuccess);
    this.#queue = undefined;
  }

  // ---------------------------------------------------------------- connect

  connect(port: number, address?: string | (() => void), callback?: (err?: Error) => void): void {
    port = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address as (err?: Error) => void;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    if (this.#connectState !== ConnectState.Disconnected) throw socketIsConnected();
    this.#connectState = ConnectState.Connecting;
    if (this.#bindState === BindState.Unbound) this.bind({ port: 0, exclusive: true });
    if (this.#bindState !== BindState.Bound) {
      const p = port;
      const a = address;
      this.#enqueue({ run: () => this.#connectBound(p, a, callback) });
      return;
    }
    this.#connectBound(port, address, callback);
  }

  #connectBound(port: number, address: string, callback: ((err?: Error) => void) | undefined): void {
    // Like Node, any truthy callback is registered here (EventEmitter rejects non-functions).
    if (callback) this.once('connect', callback);
    if (!this.#handle) throw closedHandle('lookup');
    const host = address || (this.#family === 4 ? '127.0.0.1' : '::1');
    this.#resolver.resolve(host, (err, ip) => {
      const handle = this.#handle;
      if (!handle) return;
      let ex = err;
      if (!ex && this.#sendBlockList?.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4')) ex = ipBlocked(ip);
      if (!ex) {
        const rc = handle.connect(ip, port);
        if (rc < 0) ex = exceptionWithHostPort(rc, 'connect', host, port);
      }
      if (ex) {
        this.#connectState = ConnectState.Disconnected;
        const failure = ex;
        process.nextTick(() => {
          if (typeof callback === 'function') {
            this.removeListener('connect', callback);
            callback(failure);
          } else {
            this.emit('error', failure);
          }
        });
        return;
      }
      this.#connectState = ConnectState.Connected;
      process.nextTick(() => this.emit('connect'));
    });
  }

  disconnect(): void {
    if (this.#connectState !== ConnectState.Connected) throw socketNotConnected();
    const handle = this.#handle;
    if (!handle) throw closedHandle('disconnect');
    // Datagrams sent while connected leave while the socket still is.
    this.#flush();
    const err = handle.disconnect();
    if (err < 0) throw errnoException(err, 'connect');
    this.#connectState = ConnectState.Disconnected;
  }

  remoteAddress(): AddressInfo {
    const handle = this.#healthCheck();
    if (this.#connectState !== ConnectState.Connected) throw socketNotConnected();
    const peer = handle.remoteAddress();
    if (typeof peer === 'number') throw errnoException(peer, 'getpeername');
    return { address: peer.address, family: this.#familyName, port: peer.port };
  }

  // ---------------------------------------------------------------- send

  sendto(buffer: MessageBuffer, offset: number, length: number, port: number, address: string, callback?: SendCallback): void {
    if (typeof offset !== 'number') throw invalidArgType('offset', 'number', offset);
    if (typeof length !== 'number') throw invalidArgType('length', 'number', length);
    if (typeof port !== 'number') throw invalidArgType('port', 'number', port);
    if (typeof address !== 'string') throw invalidArgType('address', 'string', address);
    this.send(buffer, offset, length, port, address, callback);
  }

  send(msg: MessageBuffer, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: MessageBuffer, port?: number, callback?: SendCallback): void;
  send(msg: MessageBuffer, callback?: SendCallback): void;
  send(msg: MessageBuffer, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: MessageBuffer, offset: number, length: number, port?: number, callback?: SendCallback): void;
  send(msg: MessageBuffer, offset: number, length: number, callback?: SendCallback): void;
  send(buffer: unknown, offset?: unknown, length?: unknown, port?: unknown, address?: unknown, callback?: unknown): void {
    const connected = this.#connectState === ConnectState.Connected;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw socketIsConnected();
    }

    let payload: Payload;
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string') payload = Buffer.from(buffer);
      else if (isArrayBufferView(buffer)) payload = toBuffer(buffer);
      else throw invalidArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], buffer);
    } else {
      const list = bufferList(buffer);
      if (list === null) throw invalidArgType('buffer list arguments', ['string', 'Buffer', 'TypedArray', 'DataView'], buffer);
      payload = list.length === 1 ? list[0]! : list.length === 0 ? EMPTY : list;
    }

    let destPort = 0;
    if (!connected) destPort = validatePort(port, 'Port', false);
    let cb = typeof callback === 'function' ? callback as SendCallback : undefined;
    if (typeof address === 'function') {
      cb = address as SendCallback;
      address = undefined;
    } else if (address !== null && address !== undefined) {
      validateString(address, 'address');
    }

    this.#healthCheck();
    this.#submit(payload, connected, destPort, address as string | null | undefined, cb);
  }

  /** A validated datagram: queue it until listening, resolve its destination, then batch it. */
  #submit(payload: Payload, connected: boolean, port: number, address: string | null | undefined, cb: SendCallback | undefined, opts?: QueuedOptions | null): void {
    if (this.#bindState === BindState.Unbound) this.bind({ port: 0, exclusive: true });
    if (this.#bindState !== BindState.Bound) {
      this.#enqueue({
        run: () => {
          if (this.#handle) this.#submit(payload, connected, port, address, cb, opts);
        },
      });
      return;
    }
    if (connected) {
      this.#push(payload, null, 0, cb, opts);
      return;
    }
    const host = address || (this.#family === 4 ? '127.0.0.1' : '::1');
    const literal = this.#resolver.literal(host);
    if (literal !== null) {
      if (this.#sendBlockList && this.#blocked_(literal, cb)) return;
      this.#push(payload, literal, port, cb, opts);
      return;
    }
    this.#resolver.resolve(host, (err, ip) => {
      if (err) {
        if (cb) process.nextTick(cb, err);
        else process.nextTick(() => this.emit('error', err));
        return;
      }
      // Closed while resolving: dropped, and no callback, as in node:dgram.
      if (!this.#handle) return;
      if (this.#sendBlockList && this.#blocked_(ip, cb)) return;
      this.#push(payload, ip, port, cb, opts);
    });
  }

  /** sendBlockList: a blocked destination fails the send with ERR_IP_BLOCKED. */
  #blocked_(ip: string, cb: SendCallback | undefined): boolean {
    if (!this.#sendBlockList!.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4')) return false;
    const err = ipBlocked(ip);
    if (cb) process.nextTick(cb, err);
    else process.nextTick(() => this.emit('error', err));
    return true;
  }

  #push(payload: Payload, address: string | null, port: number, cb: SendCallback | undefined, opts?: QueuedOptions | null): void {
    const i = this.#outLength++;
    if (i >= this.#outPorts.length) {
      const grown = new Int32Array(Math.max(64, this.#outPorts.length * 2));
      grown.set(this.#outPorts);
      this.#outPorts = grown;
    }
    this.#outPayloads[i] = payload;
    this.#outAddresses[i] = address;
    this.#outPorts[i] = port;
    this.#outCallbacks[i] = cb;
    this.#outOptions[i] = opts ?? undefined;
    if (opts) this.#outOptionCount++;
    const size = payloadSize(payload);
    this.#outSizes[i] = size;
    this.#outQueuedBytes += size;
    if (!this.#flushScheduled && !this.#blocked) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushTick);
    }
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Hands queued datagrams to the kernel, a batch per datapath call, until done or EAGAIN. */
  #flush(): void {
    const handle = this.#handle;
    if (!handle) return;
    while (this.#outHead < this.#outLength && !this.#blocked) {
      const head = this.#outHead;
      const connectedRun = this.#outAddresses[head] === null;
      let end = head + 1;
      const limit = Math.min(this.#outLength, head + MAX_SEND_BATCH);
      while (end < limit && (this.#outAddresses[end] === null) === connectedRun) end++;
      const count = end - head;
      const payloads = head === 0 && end === this.#outLength ? this.#outPayloads : this.#outPayloads.slice(head, end);
      const addresses = connectedRun ? null
        : (head === 0 && end === this.#outLength ? this.#outAddresses : this.#outAddresses.slice(head, end)) as string[];
      let sent: number;
      try {
        sent = handle.send(payloads, count, connectedRun ? null : this.#outPorts.subarray(head, end), addresses,
          this.#outOptionCount > 0 ? sendOptions(this.#outOptions, head, end) : null);
      } catch (err) {
        // The datapath refused the arguments themselves: that datagram fails, the rest go on.
        this.#complete(head, err as Error);
        this.#outHead = head + 1;
        continue;
      }
      if (sent === EAGAIN) {
        this.#blocked = true;
        handle.waitWritable();
        break;
      }
      if (sent < 0) {
        this.#complete(head, exceptionWithHostPort(sent, 'send',
          this.#outAddresses[head] ?? undefined, this.#outAddresses[head] === null ? undefined : this.#outPorts[head]));
        this.#outHead = head + 1;
        continue;
      }
      for (let i = head; i < head + sent; i++) this.#complete(i, null);
      this.#outHead = head + sent;
    }
    if (this.#outHead === this.#outLength) this.#resetQueue();
  }

  /** Reports datagram i's fate: once, on a later tick, the way node:dgram does. */
  #complete(i: number, err: Error | null): void {
    const bytes = this.#outSizes[i]!;
    this.#outQueuedBytes -= bytes;
    const cb = this.#outCallbacks[i];
    this.#outPayloads[i] = EMPTY;
    this.#outCallbacks[i] = undefined;
    if (cb) {
      if (err) process.nextTick(cb, err);
      else process.nextTick(cb, null, bytes);
    }
  }

  #resetQueue(): void {
    this.#outHead = 0;
    this.#outLength = 0;
    this.#outPayloads.length = 0;
    this.#outAddresses.length = 0;
    this.#outCallbacks.length = 0;
    this.#outSizes.length = 0;
    this.#outQueuedBytes = 0;
    this.#outOptions.length = 0;
    this.#outOptionCount = 0;
  }

  /**
   * udpkit extension: sends every entry of `list` in as few system calls as
   * the platform allows. `callback(err, sent)` runs once when all of them were
   * handed to the kernel; `err` is the first failure, `sent` how many went out.
   */
  sendMany(list: readonly OutgoingDatagram[], callback?: (err: Error | null, sent: number) => void): void {
    if (!Array.isArray(list)) throw invalidArgType('list', 'Array', list);
    if (callback !== undefined) validateFunction(callback, 'callback');
    const connected = this.#connectState === ConnectState.Connected;
    const prepared: [Payload, number, string | undefined, QueuedOptions | null][] = [];
    for (const entry of list as OutgoingDatagram[]) {
      if (entry === null || typeof entry !== 'object') throw invalidArgType('list[i]', 'Object', entry);
      const { data } = entry;
      let payload: Payload;
      if (typeof data === 'string') payload = Buffer.from(data);
      else if (isArrayBufferView(data)) payload = toBuffer(data);
      else if (Array.isArray(data)) {
        const chunks = bufferList(data);
        if (chunks === null) throw invalidArgType('buffer list arguments', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
        payload = chunks;
      } else throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
      const opts = datagramOptions(entry, this.#family);
      if (opts !== null) payload = this.#withOptions(payload, opts);
      if (connected) {
        if (entry.port || entry.address) throw socketIsConnected();
        prepared.push([payload, 0, undefined, opts]);
      } else {
        const port = validatePort(entry.port, 'Port', false);
        if (entry.address !== undefined && entry.address !== null) validateString(entry.address, 'address');
        prepared.push([payload, port, entry.address ?? undefined, opts]);
      }
    }
    this.#healthCheck();
    let pending = prepared.length;
    let sent = 0;
    let firstError: Error | null = null;
    if (pending === 0) {
      if (callback) process.nextTick(callback, null, 0);
      return;
    }
    // Some datagrams may never call back (close() overtook them, as node:dgram
    // drops such sends); the batch's callback still comes, once, at close.
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      this.#unfinishedBatches.delete(finish);
      callback?.(err, sent);
    };
    const done = (err: Error | null): void => {
      if (err) firstError ??= err;
      else sent++;
      if (--pending === 0) finish(firstError);
    };
    if (callback) this.#unfinishedBatches.add(finish);
    for (const [payload, port, address, opts] of prepared) {
      this.#submit(payload, connected, port, address, callback ? done : undefined, opts);
    }
  }

  // ---------------------------------------------------------------- receive

  #onBatch(count: number, data: ArrayBuffer): void {
    const handle = this.#handle;
    if (!handle) return;
    const meta = handle.recvMeta;
    const table = handle.recvAddresses;
    const family = this.#familyName;
    const blockList = this.#receiveBlockList;
    const blockFamily = family === 'IPv4' ? 'ipv4' : 'ipv6';
    // Nothing listens to 'message' (a 'messages'-only consumer): skip building rinfo.
    const wantMessage = this.listenerCount('message') > 0;
    const batch: Datagram[] | null = this.listenerCount('messages') > 0 ? [] : null;
    const bytes = new Uint8Array(data);
    const infoMask = this.#recvFeaturesOn & (RECV_PACKET_INFO | RECV_ECN | RECV_TIMESTAMPS);
    const info = infoMask !== 0 ? handle.recvInfo : undefined;
    for (let i = 0, m = 0; i < count; i++, m += RECV_META_STRIDE) {
      const address = table[meta[m + 3]!]!;
      if (blockList !== undefined && blockList.check(address, blockFamily)) continue;
      const size = meta[m + 1]!;
      // Each message owns exactly its bytes, as in node:dgram (`msg.buffer` is that datagram only).
      const msg = Buffer.allocUnsafeSlow(size);
      if (size > 0) msg.set(bytes.subarray(meta[m]!, meta[m]! + size));
      const port = meta[m + 2]!;
      if (info === undefined) {
        if (batch !== null) batch.push({ data: msg, address, family, port, size });
      } else if (batch !== null) {
        batch.push(addPacketInfo({ data: msg, address, family, port, size }, info, i * RECV_INFO_STRIDE, table, infoMask));
      }
      if (wantMessage) {
        this.emit('message', msg, info === undefined ? { address, family, port, size }
          : addPacketInfo({ address, family, port, size }, info, i * RECV_INFO_STRIDE, table, infoMask));
        // Closed inside a listener: nothing more. (Paused only stops further reads:
        // what was already taken from the kernel is still delivered.)
        if (this.#handle !== handle) return;
      }
    }
    if (batch !== null) this.emit('messages', batch);
  }

  /** udpkit extension: stop reading from the kernel until resumeReceiving() (datagrams wait in the kernel buffer). */
  pauseReceiving(): this {
    this.#paused = true;
    if (this.#receiving && this.#handle) {
      this.#handle.stopReceiving();
      this.#receiving = false;
    }
    return this;
  }

  /** udpkit extension: undo pauseReceiving(). */
  resumeReceiving(): this {
    this.#paused = false;
    if (!this.#receiving && this.#handle && this.#bindState === BindState.Bound) this.#startReceiving(this.#handle);
    return this;
  }

  /** udpkit extension: datagrams the kernel dropped for lack of buffer space (SO_RXQ_OVFL), or -1 where unknown. */
  getRecvDropCount(): number {
    return this.#handle ? this.#handle.droppedCount() : -1;
  }

  // ---------------------------------------------------------------- close

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.#queue !== undefined) {
      this.#queue.push({ run: () => this.close() });
      return this;
    }
    const handle = this.#healthCheck();
    if (this.#outHead < this.#outLength && !this.#blocked) {
      this.#forgetUnconnected();
      this.#flush();
    }
    // What the kernel pushed back (EAGAIN) and still waits: ECANCELED, as in node:dgram.
    for (let i = this.#outHead; i < this.#outLength; i++) {
      this.#complete(i, exceptionWithHostPort(ECANCELED, 'send', this.#outAddresses[i] ?? undefined, this.#outPorts[i]));
    }
    this.#resetQueue();
    this.#receiving = false;
    this.#handle = null;
    handle.close();
    this.#releaseShared?.();
    this.#releaseShared = undefined;
    process.nextTick(() => {
      // After the callbacks close() itself queued: what is left never went out.
      for (const finish of [...this.#unfinishedBatches]) finish(socketNotRunning());
      this.emit('close');
    });
    return this;
  }

  /**
   * close() before queued sends left: node:dgram resolves every unconnected
   * destination first, answering on a later tick, so a close() in the same
   * tick (or queued behind a bind) finds them still resolving and they never
   * leave, nor are their callbacks called. Datagrams to the connected peer need
   * no resolving and node:dgram has already sent them: those still go out.
   */
  #forgetUnconnected(): void {
    let kept = this.#outHead;
    for (let i = this.#outHead; i < this.#outLength; i++) {
      if (this.#outAddresses[i] !== null) {
        this.#outQueuedBytes -= this.#outSizes[i]!;
        continue;
      }
      this.#outPayloads[kept] = this.#outPayloads[i]!;
      this.#outAddresses[kept] = null;
      this.#outPorts[kept] = this.#outPorts[i]!;
      this.#outCallbacks[kept] = this.#outCallbacks[i];
      this.#outSizes[kept] = this.#outSizes[i]!;
      kept++;
    }
    this.#outLength = kept;
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (!this.#handle) return Promise.resolve();
    return new Promise((resolve) => this.close(() => resolve()));
  }

  // ---------------------------------------------------------------- addresses & options

  address(): AddressInfo {
    const handle = this.#healthCheck();
    const local = handle.localAddress();
    if (typeof local === 'number') throw errnoException(local, 'getsockname');
    return { address: local.address, family: this.#familyName, port: local.port };
  }

  #option(option: SocketOption, value: number, syscall: string): void {
    const handle = this.#handle;
    if (!handle) throw closedHandle(syscall);
    const err = handle.setOption(option, value);
    if (err < 0) throw errnoException(err, syscall);
  }

  setBroadcast(arg: boolean): void {
    this.#option(SocketOption.Broadcast, arg ? 1 : 0, 'setBroadcast');
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'number', ttl);
    const hops = ttl | 0;
    if (!this.#handle) throw closedHandle('setTTL');
    if (hops < 1 || hops > 255) throw errnoException(-22, 'setTTL');
    if (this.#handle.fd() < 0) throw errnoException(EBADF, 'setTTL');
    this.#option(SocketOption.TTL, hops, 'setTTL');
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'number', ttl);
    const hops = ttl | 0;
    if (!this.#handle) throw closedHandle('setMulticastTTL');
    if (hops < 0 || hops > 255) throw errnoException(-22, 'setMulticastTTL');
    if (this.#handle.fd() < 0) throw errnoException(EBADF, 'setMulticastTTL');
    this.#option(SocketOption.MulticastTTL, hops, 'setMulticastTTL');
    return ttl;
  }

  setMulticastLoopback(arg: boolean): boolean {
    this.#option(SocketOption.MulticastLoopback, arg ? 1 : 0, 'setMulticastLoopback');
    return arg;
  }

  setMulticastInterface(interfaceAddress: string): void {
    const handle = this.#healthCheck();
    validateString(interfaceAddress, 'interfaceAddress');
    const [ip, scope] = interfaceAddress.split('%', 2) as [string, string | undefined];
    if (this.#family === 4) {
      // An IPv6 interface on an IPv4 socket is an IPv6 option there: ENOPROTOOPT.
      if (isIPv6(interfaceAddress)) throw errnoException(handle.fd() < 0 ? EBADF : -92, 'setMulticastInterface');
      if (!isIPv4(interfaceAddress)) throw errnoException(-22, 'setMulticastInterface');
    } else if (!isIPv4(interfaceAddress) && !isIPv6(ip)) {
      throw errnoException(-22, 'setMulticastInterface');
    }
    if (handle.fd() < 0) throw errnoException(EBADF, 'setMulticastInterface');
    // An unknown scope falls back to the system's choice, as in Node.
    const target = this.#family === 6 && scope !== undefined && !/^\d+$/.test(scope) && !interfaceExists(scope) ? ip : interfaceAddress;
    const err = handle.setMulticastInterface(target);
    if (err < 0) throw errnoException(err, 'setMulticastInterface');
  }

  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    const handle = this.#healthCheck();
    if (!multicastAddress) throw missingArgs('multicastAddress');
    // Both become strings first (a Symbol throws here), as in Node.
    const group = `${multicastAddress}`;
    const iface = interfaceAddress == null ? null : `${interfaceAddress}`;
    this.#membershipPrecheck(handle, group, 'addMembership');
    const err = handle.setMembership(group, iface, true);
    if (err < 0) throw errnoException(err, 'addMembership');
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    const handle = this.#healthCheck();
    if (!multicastAddress) throw missingArgs('multicastAddress');
    const group = `${multicastAddress}`;
    const iface = interfaceAddress == null ? null : `${interfaceAddress}`;
    this.#membershipPrecheck(handle, group, 'dropMembership');
    const err = handle.setMembership(group, iface, false);
    if (err < 0) throw errnoException(err, 'dropMembership');
  }

  addSourceSpecificMembership(sourceAddress: string, groupAddress: string, interfaceAddress?: string): void {
    const handle = this.#healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    const iface = interfaceAddress == null ? null : `${interfaceAddress}`;
    this.#membershipPrecheck(handle, groupAddress, 'addSourceSpecificMembership');
    const err = handle.setSourceMembership(sourceAddress, groupAddress, iface, true);
    if (err < 0) throw errnoException(err, 'addSourceSpecificMembership');
  }

  dropSourceSpecificMembership(sourceAddress: string, groupAddress: string, interfaceAddress?: string): void {
    const handle = this.#healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    const iface = interfaceAddress == null ? null : `${interfaceAddress}`;
    this.#membershipPrecheck(handle, groupAddress, 'dropSourceSpecificMembership');
    const err = handle.setSourceMembership(sourceAddress, groupAddress, iface, false);
    if (err < 0) throw errnoException(err, 'dropSourceSpecificMembership');
  }

  #bufferSize(size: number, option: SocketOption.RecvBufferSize | SocketOption.SendBufferSize): number | undefined {
    const syscall = option === SocketOption.RecvBufferSize ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
    const handle = this.#handle;
    if (!handle) throw closedHandle('bufferSize');
    if (size > 0x7FFFFFFF) throw socketBufferSizeError(-22, syscall);
    if (handle.fd() < 0) throw socketBufferSizeError(EBADF, syscall);
    if (size === 0) {
      const value = handle.getOption(option);
      if (value < 0) throw socketBufferSizeError(value, syscall);
      return value;
    }
    const err = handle.setOption(option, size);
    if (err < 0) throw socketBufferSizeError(err, syscall);
    return undefined;
  }

  setRecvBufferSize(size: number): void {
    // `>>>` itself throws a TypeError for a BigInt or a Symbol, as in Node.
    if ((size as number) >>> 0 !== size) throw socketBadBufferSize();
    this.#bufferSize(size, SocketOption.RecvBufferSize);
  }

  setSendBufferSize(size: number): void {
    if ((size as number) >>> 0 !== size) throw socketBadBufferSize();
    this.#bufferSize(size, SocketOption.SendBufferSize);
  }

  getRecvBufferSize(): number {
    return this.#bufferSize(0, SocketOption.RecvBufferSize)!;
  }

  getSendBufferSize(): number {
    return this.#bufferSize(0, SocketOption.SendBufferSize)!;
  }

  /** Bytes waiting for the kernel to take them (only while it pushes back with EAGAIN). */
  getSendQueueSize(): number {
    if (!this.#handle) throw closedHandle('getSendQueueSize');
    return this.#blocked ? this.#outQueuedBytes : 0;
  }

  getSendQueueCount(): number {
    if (!this.#handle) throw closedHandle('getSendQueueCount');
    return this.#blocked ? this.#outLength - this.#outHead : 0;
  }

  ref(): this {
    this.#refed = true;
    this.#handle?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#handle?.unref();
    return this;
  }

  // ---------------------------------------------------------------- issue 12 (features.ts)

  /** Turns on what createSocket asked for, once the descriptor exists; what the kernel lacks stays off. */
  #applyRecvFeatures(handle: DatapathSocket): void {
    const on = handle.setRecvFeatures ? handle.setRecvFeatures(this.#recvFeatures) : 0;
    this.#recvFeaturesOn = on > 0 ? on : 0;
  }

  /** Checks that the datapath can honour a datagram's options; a segmented datagram becomes one buffer. */
  #withOptions(payload: Payload, opts: QueuedOptions): Payload {
    const caps = this.#capabilities();
    if (caps === null) throw unsupportedFeature('per-datagram send options (source, ecn, segmentSize)');
    if (opts.source !== null && !caps.packetInfo) throw unsupportedFeature('source');
    if (opts.ecn >= 0 && !caps.ecn) throw unsupportedFeature('ecn');
    if (opts.segmentSize > 0 && !(payload instanceof Uint8Array)) return Buffer.concat(payload);
    return payload;
  }

  /** The platform's capabilities when this socket's datapath is the native one (it has the features' methods), else null. */
  #capabilities(): import('./capabilities').Capabilities | null {
    if (!this.#handle || typeof this.#handle.setRecvFeatures !== 'function') return null;
    return (require('./capabilities') as typeof import('./capabilities')).capabilities();
  }

  #feature<K extends 'setTOS' | 'getTOS' | 'setDontFragment' | 'getPathMTU'>(name: K): DatapathSocket {
    const handle = this.#healthCheck();
    if (typeof handle[name] !== 'function') throw unsupportedFeature(name);
    return handle;
  }

  /** udpkit extension: the IPv4 TOS byte / IPv6 traffic class (DSCP and ECN bits) of every datagram sent after it. */
  setTOS(tos: number): void {
    if (typeof tos !== 'number') throw invalidArgType('tos', 'number', tos);
    if (!Number.isInteger(tos) || tos < 0 || tos > 255) throw outOfRange('tos', '>= 0 && <= 255', tos);
    const handle = this.#feature('setTOS');
    if (!this.#capabilities()?.ecn) throw unsupportedFeature('setTOS');
    const err = handle.setTOS!(tos);
    if (err < 0) throw errnoException(err, 'setTOS');
  }

  /** udpkit extension: the TOS byte / traffic class the socket sends with. */
  getTOS(): number {
    const handle = this.#feature('getTOS');
    const tos = handle.getTOS!();
    if (tos < 0) throw errnoException(tos, 'getTOS');
    return tos;
  }

  /** udpkit extension: true sets DF and never fragments (too big fails with EMSGSIZE); false lets the kernel fragment. */
  setDontFragment(flag: boolean): void {
    if (typeof flag !== 'boolean') throw invalidArgType('flag', 'boolean', flag);
    const handle = this.#feature('setDontFragment');
    if (!this.#capabilities()?.dontFragment) throw unsupportedFeature('setDontFragment');
    const err = handle.setDontFragment!(flag);
    if (err < 0) throw errnoException(err, 'setDontFragment');
  }

  /** udpkit extension: the kernel's path MTU to the connected peer (ENOTCONN when not connected). */
  getPathMTU(): number {
    const handle = this.#feature('getPathMTU');
    const mtu = handle.getPathMTU!();
    if (mtu < 0) throw errnoException(mtu, 'getPathMTU');
    return mtu;
  }
}

// Node's deprecated underscore members (DEP0112), kept because older libraries
// still reach for them (`if (socket._handle)` to test for a closed socket).
type LegacyView = {
  handle(): { readonly fd: number } | null; receiving(): boolean; bindState(): number;
  queue(): unknown[] | undefined; reuseAddr(): boolean; healthCheck(): void; stopReceiving(): void;
};
function legacy(socket: Socket): LegacyView {
  return legacyOf(socket);
}
const dep = (fn: (this: Socket) => unknown, name: string): (this: Socket) => unknown =>
  deprecate(fn, `Socket.prototype.${name} is deprecated`, 'DEP0112');
// Node 25 removed them; so does udpkit there.
if (!legacyMembersRemoved) Object.defineProperties(Socket.prototype, {
  _handle: { get: dep(function () { return legacy(this).handle(); }, '_handle'), configurable: true },
  _receiving: { get: dep(function () { return legacy(this).receiving(); }, '_receiving'), configurable: true },
  _bindState: { get: dep(function () { return legacy(this).bindState(); }, '_bindState'), configurable: true },
  _queue: { get: dep(function () { return legacy(this).queue(); }, '_queue'), configurable: true },
  _reuseAddr: { get: dep(function () { return legacy(this).reuseAddr(); }, '_reuseAddr'), configurable: true },
  _healthCheck: { value: dep(function () { legacy(this).healthCheck(); }, '_healthCheck'), writable: true, configurable: true },
  _stopReceiving: { value: dep(function () { legacy(this).stopReceiving(); }, '_stopReceiving'), writable: true, configurable: true },
});

if (!syncBindAndConnect) {
  // Not on this Node line's node:dgram: not on ours either.
  delete (Socket.prototype as Partial<Socket>).bindSync;
  delete (Socket.prototype as Partial<Socket>).connectSync;
}

export function createSocket(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket {
  return new Socket(type, listener);
}

/**
 * node:dgram's (deprecated) handle factory, kept for the export list: a
 * datapath socket bound to address:port, or a negative errno.
 */
export function _createSocketHandle(address: string, port: number, addressType: number | string, fd?: number, flags?: number): DatapathSocket | number {
  const family: Family = addressType === 6 || addressType === 'udp6' ? 6 : 4;
  const handle = getDatapath().createSocket(family);
  const err = typeof fd === 'number' && fd > 0 ? handle.open(fd) : handle.bind(address, port, flags ?? 0);
  if (err < 0) {
    handle.close();
    return err;
  }
  return handle;
}
