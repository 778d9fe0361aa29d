// A datapath socket on a virtual host: the DatapathSocket seam implemented in
// memory. It keeps what a kernel socket keeps (binding, peer, options,
// memberships, a receive queue bounded by its buffer size) and answers with
// the errno values Linux gives; datagrams it sends go to the Network, which
// routes them and later hands them to the receiving socket's queue. The
// queue is drained into RecvSink.onBatch exactly as the native datapath fills
// it: payloads back to back, RECV_META_STRIDE entries in the shared recvMeta,
// sender addresses in a shared slot table rewritten only for new senders.
//
// Lifetime: created unbound (fd() -1); bind() (or the first send/connect,
// through Socket) gives it a port on its host and a virtual descriptor;
// close() releases the port, leaves its groups and drops what is queued.
// Nothing here touches an OS descriptor: open(fd) fails with EBADF.
import {
  BIND_IPV6ONLY, RECV_META_STRIDE, SocketOption,
  type DatapathSocket, type Endpoint, type Family, type Payload, type RecvSink,
} from '../datapath/types';
import { isLoopback, isMulticast, isWildcard, mapV4, parseIP, unmapV4, type IP } from './address';
import type { Host } from './host';

export const EBADF = -9;
export const EACCES = -13;
export const ENODEV = -19;
export const EINVAL = -22;
export const EMSGSIZE = -90;
export const EADDRINUSE = -98;
export const EADDRNOTAVAIL = -99;
export const ENETUNREACH = -101;
export const ENOTCONN = -107;
export const ECONNREFUSED = -111;

/** Largest UDP payload: 65535 - IP header (20) - UDP header (8); IPv6's length field excludes its header. */
const MAX_PAYLOAD = { 4: 65507, 6: 65527 } as const;
/** Linux's defaults (net.core.rmem_default / wmem_default) and the value getsockopt reports after a set (doubled, capped, floored). */
const DEFAULT_BUFFER = 212992;
const BUFFER_MAX = 212992;
/** What each queued datagram costs the receive buffer on top of its payload, roughly the kernel's skb overhead. */
const DATAGRAM_OVERHEAD = 768;
/** Virtual descriptors start here: far above what a process has open, and never passed to the OS. */
const FD_BASE = 0x40000000;
let nextFd = FD_BASE;

// Datagrams in flight and receive batches are carved from shared chunks, each
// region written once and never again (the seam's promise about `data`): far
// fewer ArrayBuffers than one per datagram, and ArrayBuffers are what a busy
// virtual network's GC pays for.
const CHUNK = 1 << 16;
let chunk = new ArrayBuffer(CHUNK);
let chunkView = new Uint8Array(chunk);
let chunkUsed = 0;

function region(bytes: number): number {
  if (chunkUsed + bytes > CHUNK) {
    chunk = new ArrayBuffer(Math.max(CHUNK, bytes));
    chunkView = new Uint8Array(chunk);
    chunkUsed = 0;
  }
  const at = chunkUsed;
  chunkUsed += bytes;
  return at;
}

interface Queued {
  data: Uint8Array;
  address: string;
  port: number;
}

/** The datagram's bytes, copied now (as a kernel copies at send) into a shared chunk. */
function concat(payload: Payload): Uint8Array {
  if (payload instanceof Uint8Array) {
    const at = region(payload.byteLength);
    const out = chunkView.subarray(at, at + payload.byteLength);
    out.set(payload);
    return out;
  }
  let n = 0;
  for (const c of payload) n += c.byteLength;
  const at = region(n);
  const out = chunkView.subarray(at, at + n);
  let off = 0;
  for (const c of payload) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

export class VirtualSocket implements DatapathSocket {
  readonly family: Family;
  readonly recvMeta: Int32Array;
  readonly recvAddresses: string[];
  readonly host: Host;

  /** @internal Bound address (may be the wildcard) and port; null while unbound. */
  bound: IP | null = null;
  /** @internal */ port = 0;
  /** @internal Source address chosen by connect() for a wildcard-bound socket. */
  local: IP | null = null;
  /** @internal */ peer: { ip: IP; port: number } | null = null;
  /** @internal */ flags = 0;
  /** @internal The IPv4 and IPv6 destinations the binding takes ('*': any), see Host.coverage. */
  coverage: { v4: string | null; v6: string | null } = { v4: null, v6: null };
  /** @internal Bind order on the host, the tie-break for datagrams several sockets could take. */
  bindSeq = 0;
  /** @internal Groups joined, as 'group|iface' keys; sources for source-specific joins. */
  readonly groups = new Map<string, Set<string> | null>();
  /** @internal */ broadcast = false;
  /** @internal */ ttl = 64;
  /** @internal */ multicastTTL = 1;
  /** @internal */ multicastLoop = true;
  /** @internal */ multicastIface: IP | null = null;
  #recvBuffer = DEFAULT_BUFFER;
  #sendBuffer = DEFAULT_BUFFER;
  #fd = -1;
  #closed = false;
  #sink: RecvSink | null = null;
  #receiving = false;
  #inbox: Queued[] = [];
  #inboxHead = 0;
  #inboxBytes = 0;
  #dropped = 0;
  #drainScheduled = false;
  /** An ICMP error that arrived while nobody was reading, reported by the next send. */
  #pendingError = 0;
  readonly #batch: number;
  // The sender address table: slot of each address, and the batch that last used each slot.
  #slotOf = new Map<string, number>();
  #slotEpoch: Int32Array;
  #nextSlot = 0;
  #epoch = 0;

  constructor(host: Host, family: Family, batch: number) {
    this.host = host;
    this.family = family;
    this.#batch = batch;
    this.recvMeta = new Int32Array(batch * RECV_META_STRIDE);
    this.recvAddresses = new Array<string>(batch).fill('');
    this.#slotEpoch = new Int32Array(batch).fill(-1);
  }

  /** @internal Parses an address of this socket's family (a udp6 socket also takes IPv4 as ::ffff:a.b.c.d). */
  parse(address: string): IP | null {
    const ip = parseIP(address);
    if (ip === null) return null;
    if (ip.family === this.family) return ip;
    return null;
  }

  /** @internal Whether the socket accepts IPv4 traffic (a udp4 socket, or a dual-stack udp6 one). */
  get v4(): boolean {
    if (this.family === 4) return true;
    return this.bound !== null && (this.flags & BIND_IPV6ONLY) === 0 &&
      (isWildcard(this.bound) || unmapV4(this.bound) !== null);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  bind(address: string, port: number, flags: number): number {
    if (this.#closed) return EBADF;
    if (this.bound !== null) return EINVAL;
    const ip = this.parse(address);
    if (ip === null) return EINVAL;
    const rc = this.host.bindSocket(this, ip, port, flags);
    if (rc < 0) return rc;
    this.#fd = nextFd++;
    return 0;
  }

  open(_fd: number): number {
    // A virtual socket never adopts an OS descriptor; Socket reports it as an unsupported fd.
    return EBADF;
  }

  connect(address: string, port: number): number {
    if (this.#closed) return EBADF;
    const ip = this.parse(address);
    if (ip === null) return EINVAL;
    if (this.bound === null) {
      const rc = this.bind(this.family === 4 ? '0.0.0.0' : '::', 0, 0);
      if (rc < 0) return rc;
    }
    // Connecting to the wildcard means this host, as in Linux.
    const target = isWildcard(ip) ? parseIP(this.family === 4 ? '127.0.0.1' : '::1')! : ip;
    if (isWildcard(this.bound!)) {
      const source = this.host.sourceFor(target);
      if (source === null) return ENETUNREACH;
      this.local = source;
    }
    this.peer = { ip: target, port };
    return 0;
  }

  disconnect(): number {
    this.peer = null;
    this.local = null;
    return 0;
  }

  localAddress(): Endpoint | number {
    if (this.#closed || this.bound === null) return EBADF;
    const ip = this.local ?? this.bound;
    return { address: ip.text, port: this.port, family: this.family };
  }

  remoteAddress(): Endpoint | number {
    if (this.#closed) return EBADF;
    if (this.peer === null) return ENOTCONN;
    return { address: this.peer.ip.text, port: this.peer.port, family: this.family };
  }

  fd(): number {
    return this.#fd;
  }

  setOption(option: SocketOption, value: number): number {
    if (this.#fd < 0) return EBADF;
    switch (option) {
      case SocketOption.Broadcast: this.broadcast = value !== 0; return 0;
      case SocketOption.TTL: this.ttl = value; return 0;
      case SocketOption.MulticastTTL: this.multicastTTL = value; return 0;
      case SocketOption.MulticastLoopback: this.multicastLoop = value !== 0; return 0;
      case SocketOption.RecvBufferSize: this.#recvBuffer = Math.max(2304, Math.min(value, BUFFER_MAX) * 2); return 0;
      case SocketOption.SendBufferSize: this.#sendBuffer = Math.max(4608, Math.min(value, BUFFER_MAX) * 2); return 0;
      default: return EINVAL;
    }
  }

  getOption(option: SocketOption): number {
    if (this.#fd < 0) return EBADF;
    switch (option) {
      case SocketOption.Broadcast: return this.broadcast ? 1 : 0;
      case SocketOption.TTL: return this.ttl;
      case SocketOption.MulticastTTL: return this.multicastTTL;
      case SocketOption.MulticastLoopback: return this.multicastLoop ? 1 : 0;
      case SocketOption.RecvBufferSize: return this.#recvBuffer;
      case SocketOption.SendBufferSize: return this.#sendBuffer;
      default: return EINVAL;
    }
  }

  /**
   * An interface named by one of its addresses. IPv4: it must be one of the
   * host's. IPv6 names interfaces by scope id only (libuv and Linux ignore the
   * address part), and a virtual host has one interface: any address will do.
   */
  #iface(iface: string): IP | number {
    const ip = parseIP(iface.split('%')[0]!);
    if (ip === null) return EINVAL;
    if (this.family === 4 && !isWildcard(ip) && !this.host.owns(ip)) return EADDRNOTAVAIL;
    return ip;
  }

  setMulticastInterface(iface: string): number {
    if (this.#fd < 0) return EBADF;
    const ip = this.#iface(iface);
    if (typeof ip === 'number') return ip;
    this.multicastIface = isWildcard(ip) || this.family === 6 ? null : ip;
    return 0;
  }

  setMembership(group: string, iface: string | null, join: boolean): number {
    return this.#membership(null, group, iface, join);
  }

  setSourceMembership(source: string, group: string, iface: string | null, join: boolean): number {
    const src = parseIP(source);
    if (src === null) return EINVAL;
    return this.#membership(src.text, group, iface, join);
  }

  #membership(source: string | null, group: string, iface: string | null, join: boolean): number {
    if (this.#closed) return EBADF;
    const g = parseIP(group.split('%')[0]!);
    if (g === null || g.family !== this.family || !isMulticast(g)) return EINVAL;
    let ifaceText = '';
    if (iface !== null) {
      const ip = this.#iface(iface);
      if (typeof ip === 'number') return ip === EADDRNOTAVAIL ? ENODEV : ip;
      ifaceText = this.family === 4 ? ip.text : '';
    }
    const key = `${g.text}|${ifaceText}`;
    const current = this.groups.get(key);
    if (join) {
      if (source === null) {
        if (current !== undefined) return EADDRINUSE;
        this.groups.set(key, null);
      } else {
        if (current === null) return EINVAL;
        const set = current ?? new Set<string>();
        if (set.has(source)) return EADDRINUSE;
        set.add(source);
        this.groups.set(key, set);
      }
    } else {
      if (current === undefined) return EADDRNOTAVAIL;
      if (source === null) {
        this.groups.delete(key);
      } else {
        if (current === null || !current.has(source)) return EADDRNOTAVAIL;
        current.delete(source);
        if (current.size === 0) this.groups.delete(key);
      }
    }
    return 0;
  }

  /** @internal Whether this socket joined `group` for datagrams from `source`. */
  wants(group: string, source: string): boolean {
    for (const [key, sources] of this.groups) {
      if (key.slice(0, key.indexOf('|')) !== group) continue;
      if (sources === null || sources.has(source)) return true;
    }
    return false;
  }

  send(payloads: readonly Payload[], count: number, ports: Int32Array | null, addresses: readonly string[] | null): number {
    if (this.#closed) return EBADF;
    if (this.bound === null) {
      const rc = this.bind(this.family === 4 ? '0.0.0.0' : '::', 0, 0);
      if (rc < 0) return rc;
    }
    for (let i = 0; i < count; i++) {
      // A pending ICMP error fails the next send instead of it (sendmmsg: after the ones already sent).
      if (this.#pendingError !== 0) {
        if (i > 0) return i;
        const err = this.#pendingError;
        this.#pendingError = 0;
        return err;
      }
      const rc = this.#sendOne(payloads[i]!, ports === null ? 0 : ports[i]!, addresses === null ? null : addresses[i]!);
      if (rc < 0) return i === 0 ? rc : i;
    }
    return count;
  }

  #sendOne(payload: Payload, port: number, address: string | null): number {
    let dst: IP;
    let dstPort: number;
    if (address === null) {
      if (this.peer === null) return ENOTCONN;
      dst = this.peer.ip;
      dstPort = this.peer.port;
    } else {
      const ip = this.parse(address);
      if (ip === null) return EINVAL;
      dst = isWildcard(ip) ? parseIP(this.family === 4 ? '127.0.0.1' : '::1')! : ip;
      dstPort = port;
      if (dstPort === 0) return EINVAL;
    }
    const data = concat(payload);
    if (data.byteLength > MAX_PAYLOAD[this.family]) return EMSGSIZE;
    // A udp6 socket talking to ::ffff:a.b.c.d speaks IPv4 on the wire (unless it is IPv6-only).
    const wireDst = unmapV4(dst) ?? dst;
    if (wireDst !== dst && (this.flags & BIND_IPV6ONLY) !== 0) return ENETUNREACH;
    let src = this.local ?? this.bound!;
    if (isWildcard(src) || unmapV4(src) !== null) {
      const chosen = isMulticast(wireDst) && this.multicastIface !== null ? this.multicastIface : this.host.sourceFor(wireDst);
      if (chosen === null) return ENETUNREACH;
      src = chosen;
    } else if (src.family !== wireDst.family) {
      return ENETUNREACH;
    }
    if (isLoopback(src) && !isLoopback(wireDst) && !this.host.owns(wireDst)) return EINVAL;
    if (this.host.network.isBroadcast(this.host, wireDst) && !this.broadcast) return EACCES;
    this.host.network.transmit(this, src, this.port, wireDst, dstPort, data);
    return 0;
  }

  waitWritable(): void {
    // Sends never push back: the network queues what a link cannot carry yet.
  }

  droppedCount(): number {
    return this.#dropped;
  }

  startReceiving(sink: RecvSink): number {
    if (this.#closed) return EBADF;
    this.#sink = sink;
    this.#receiving = true;
    this.#scheduleDrain();
    if (this.#pendingError !== 0) {
      const scheduler = this.host.network.scheduler;
      scheduler.at(scheduler.now(), this.#reportTask);
    }
    return 0;
  }

  stopReceiving(): void {
    this.#receiving = false;
  }

  ref(): void {
    // Nothing holds the event loop open in virtual time; see Network for realtime mode.
  }

  unref(): void {
    // As ref().
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receiving = false;
    this.#sink = null;
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#inboxBytes = 0;
    this.groups.clear();
    this.host.releaseSocket(this);
  }

  /** @internal A datagram arrives: false when the receive buffer has no room for it. */
  enqueue(data: Uint8Array, from: IP, port: number): boolean {
    if (this.#closed) return false;
    const cost = data.byteLength + DATAGRAM_OVERHEAD;
    if (this.#inboxBytes + cost > this.#recvBuffer) {
      this.#dropped++;
      return false;
    }
    // A dual-stack socket sees IPv4 senders as ::ffff:a.b.c.d.
    const address = this.family === 6 && from.family === 4 ? mapV4(from).text : from.text;
    this.#inbox.push({ data, address, port });
    this.#inboxBytes += cost;
    this.#scheduleDrain();
    return true;
  }

  /**
   * @internal An ICMP port unreachable came back for a datagram this
   * (connected) socket sent. Like the kernel's pending socket error, it is
   * reported once, by whichever comes first: the next send, or the receive
   * side when the event loop next polls (an 'error' event).
   */
  refused(): void {
    if (this.#closed) return;
    this.#pendingError = ECONNREFUSED;
    const scheduler = this.host.network.scheduler;
    scheduler.at(scheduler.now(), this.#reportTask);
  }

  readonly #reportTask = (): void => {
    if (this.#pendingError === 0 || !this.#receiving || this.#sink === null) return;
    const err = this.#pendingError;
    this.#pendingError = 0;
    this.#sink.onRecvError(err);
  };

  #scheduleDrain(): void {
    if (this.#drainScheduled || !this.#receiving || this.#inboxHead >= this.#inbox.length) return;
    this.#drainScheduled = true;
    this.host.network.scheduler.soon(this.#drainTask);
  }

  readonly #drainTask = (): void => this.#drain();

  #slot(address: string): number {
    const slots = this.recvAddresses.length;
    let slot = this.#slotOf.get(address);
    if (slot === undefined) {
      // Take the next slot not already used by this batch; none left ends the batch.
      let tries = 0;
      while (this.#slotEpoch[this.#nextSlot] === this.#epoch && tries < slots) {
        this.#nextSlot = (this.#nextSlot + 1) % slots;
        tries++;
      }
      if (tries === slots) return -1;
      slot = this.#nextSlot;
      this.#nextSlot = (slot + 1) % slots;
      const old = this.recvAddresses[slot];
      if (old !== undefined && old !== '' && this.#slotOf.get(old) === slot) this.#slotOf.delete(old);
      this.recvAddresses[slot] = address;
      this.#slotOf.set(address, slot);
    }
    this.#slotEpoch[slot] = this.#epoch;
    return slot;
  }

  /** Hands queued datagrams to the sink, a batch of up to recvBatchSize at a time. */
  #drain(): void {
    this.#drainScheduled = false;
    const meta = this.recvMeta;
    while (this.#receiving && this.#sink !== null && this.#inboxHead < this.#inbox.length) {
      this.#epoch++;
      const start = this.#inboxHead;
      const end = Math.min(this.#inbox.length, start + this.#batch);
      let count = 0;
      let bytes = 0;
      for (let i = start; i < end; i++) bytes += this.#inbox[i]!.data.byteLength;
      const base = region(bytes);
      const data = chunk;
      bytes = base;
      for (let i = start; i < end; i++, count++) {
        const item = this.#inbox[i]!;
        const slot = this.#slot(item.address);
        if (slot < 0) break;
        const m = count * RECV_META_STRIDE;
        meta[m] = bytes;
        meta[m + 1] = item.data.byteLength;
        meta[m + 2] = item.port;
        meta[m + 3] = slot;
        meta[m + 4] = 0;
        bytes += item.data.byteLength;
      }
      const view = chunkView;
      for (let i = 0; i < count; i++) {
        const item = this.#inbox[start + i]!;
        view.set(item.data, meta[i * RECV_META_STRIDE]!);
        this.#inboxBytes -= item.data.byteLength + DATAGRAM_OVERHEAD;
      }
      this.#inboxHead = start + count;
      if (this.#inboxHead === this.#inbox.length) {
        this.#inbox.length = 0;
        this.#inboxHead = 0;
      }
      this.#sink.onBatch(count, data);
    }
  }
}
