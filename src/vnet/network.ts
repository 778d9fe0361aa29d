// The virtual network: hosts, the links between them, NATs, and the routing
// of every datagram a VirtualSocket sends. A datagram's whole fate is decided
// when it is sent (route, NAT translation, what the link does to it, drawn
// from the seeded generator) and its arrival is a task on the scheduler; the
// receiving host then picks the socket(s) as a kernel would. Because every
// choice comes from the seed and the scheduler orders tasks by (time, seq),
// one seed and one program give one trace.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  endpointText, isLoopback, isMulticast, isWildcard, parseIP, unmapV4, type IP,
} from './address';
import { Clock } from './clock';
import { Host, type HostAddress } from './host';
import { Direction, Link, fragmentSizes, resolveLinkOptions, type LinkOptions, type ResolvedLinkOptions } from './link';
import { Nat, type NatBehaviour } from './nat';
import { Capture } from './pcap';
import { Random } from './random';
import { Scheduler, type Task } from './scheduler';
import type { VirtualSocket } from './socket';
import type { TraceEvent, TraceKind } from './trace';

export interface NetworkOptions {
  /** Seeds every random choice (loss, jitter, ephemeral ports...). Default 0. */
  seed?: number;
  /** Run on the wall clock instead of virtual time. Default false. */
  realtime?: boolean;
  /** The link between hosts that network.link() did not configure. Default: no delay, no loss, MTU 1500. */
  link?: LinkOptions;
  /** Datagrams per 'onBatch' (the native datapath's recvmmsg batch). Default 32. */
  recvBatchSize?: number;
}

export interface HostOptions {
  /** A name the network's sockets resolve to this host's address. */
  name?: string;
}

export interface NatOptions {
  /** Hosts behind the NAT. */
  inside: Host[];
  /** The NAT's public IPv4 address, on the network. */
  public: string;
  /** How mappings are reused. Default 'endpoint-independent'. */
  mapping?: NatBehaviour;
  /** Which inbound datagrams a mapping lets in. Default: the same rule as `mapping`. */
  filtering?: NatBehaviour;
  /** Idle ms after which a mapping expires. Default 120000 (RFC 4787's minimum). */
  timeout?: number;
}

/** @internal */
export interface Packet {
  id: number;
  src: IP;
  srcPort: number;
  dst: IP;
  dstPort: number;
  data: Uint8Array;
  ttl: number;
  sender: VirtualSocket;
  /** Where the sender addressed it, before any NAT (what a connected socket's ICMP error names). */
  sentTo: IP;
  sentPort: number;
}

const LOOPBACK_MTU = 65536;

/** A datagram's arrival, as a scheduler task (one object, no closure, per datagram in flight). */
class Arrival implements Task {
  time: number;
  seq = 0;
  readonly yields = false;
  cancelled = false;
  readonly #network: Network;
  readonly #to: Host;
  readonly #packet: Packet;
  readonly #multi: boolean;
  readonly #fragments: number;

  constructor(time: number, network: Network, to: Host, packet: Packet, multi: boolean, fragments: number) {
    this.time = time;
    this.#network = network;
    this.#to = to;
    this.#packet = packet;
    this.#multi = multi;
    this.#fragments = fragments;
  }

  run(): void {
    this.#network.deliver(this.#to, this.#packet, this.#multi, this.#fragments);
  }
}

function hostAddress(spec: unknown): HostAddress {
  if (typeof spec !== 'string') throw new TypeError(`a host address must be a string. Received ${String(spec)}`);
  const [text, len] = spec.split('/') as [string, string | undefined];
  const ip = parseIP(text);
  if (ip === null || isWildcard(ip) || isLoopback(ip) || isMulticast(ip) || unmapV4(ip) !== null) {
    throw new TypeError(`"${spec}" is not a unicast IPv4 or IPv6 address a host can have`);
  }
  const max = ip.family === 4 ? 32 : 128;
  const prefix = len === undefined ? (ip.family === 4 ? 24 : 64) : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new RangeError(`bad prefix length in "${spec}"`);
  return { ip, prefix };
}

export class Network extends EventEmitter {
  readonly seed: number;
  /** Timers on the network's clock, for the code under test. */
  readonly clock: Clock;
  /** @internal */ readonly scheduler: Scheduler;
  /** @internal */ readonly random: Random;
  /** @internal */ readonly recvBatchSize: number;
  readonly #hosts: Host[] = [];
  readonly #owners = new Map<string, Host | Nat>();
  readonly #names = new Map<string, Host>();
  readonly #directions = new Map<Host, Map<Host, Direction>>();
  readonly #defaultLink: ResolvedLinkOptions;
  #captures: Capture[] = [];
  #ids = 0;

  constructor(options: NetworkOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new TypeError(`options.seed must be an integer. Received ${String(seed)}`);
    const batch = options.recvBatchSize ?? 32;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new RangeError('options.recvBatchSize must be an integer in 1..1024');
    this.seed = seed;
    this.random = new Random(seed);
    this.recvBatchSize = batch;
    this.scheduler = new Scheduler(options.realtime === true);
    this.scheduler.onError = (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else throw err;
    };
    this.clock = new Clock(this.scheduler);
    this.#defaultLink = resolveLinkOptions(options.link);
  }

  /** Hosts on the network, in creation order. */
  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  /**
   * Adds a host with one address or several ('10.0.0.1', 'fd00::1/64', ...;
   * default prefixes /24 and /64). Every host also has loopback.
   */
  host(address: string | readonly string[], options: HostOptions = {}): Host {
    const specs = Array.isArray(address) ? address : [address];
    if (specs.length === 0) throw new TypeError('a host needs at least one address');
    const ips = specs.map(hostAddress);
    for (const { ip } of ips) {
      if (this.#owners.has(ip.text)) throw new Error(`${ip.text} is already on the network`);
    }
    const name = options.name;
    if (name !== undefined) {
      if (typeof name !== 'string' || name === '' || isIP(name) !== 0 || name === 'localhost') {
        throw new TypeError(`options.name must be a host name. Received ${String(name)}`);
      }
      if (this.#names.has(name)) throw new Error(`a host is already named ${name}`);
    }
    const host = new Host(this, ips, name);
    for (const { ip } of ips) this.#owners.set(ip.text, host);
    if (name !== undefined) this.#names.set(name, host);
    this.#hosts.push(host);
    return host;
  }

  /** Shapes the traffic between two hosts, both ways (each way has its own rate queue). */
  link(a: Host, b: Host, options: LinkOptions = {}): Link {
    this.#check(a);
    this.#check(b);
    if (a === b) throw new Error('a host has no link to itself (its traffic stays on loopback)');
    const link = new Link(resolveLinkOptions(options, this.#defaultLink));
    this.#set(a, b, link.forward);
    this.#set(b, a, link.backward);
    return link;
  }

  /** Puts hosts behind a NAT whose public address is on the network. */
  nat(options: NatOptions): Nat {
    if (options === null || typeof options !== 'object') throw new TypeError('nat options must be an object');
    const inside = options.inside;
    if (!Array.isArray(inside) || inside.length === 0) throw new TypeError('nat option "inside" must be a non-empty array of hosts');
    for (const h of inside) {
      this.#check(h);
      if (h.nat !== null) throw new Error(`${h.address} is already behind a NAT`);
    }
    const pub = typeof options.public === 'string' ? parseIP(options.public) : null;
    if (pub === null || pub.family !== 4) throw new TypeError('nat option "public" must be an IPv4 address');
    if (this.#owners.has(pub.text)) throw new Error(`${pub.text} is already on the network`);
    const mapping = Nat.behaviour('mapping', options.mapping, 'endpoint-independent');
    const filtering = Nat.behaviour('filtering', options.filtering, mapping);
    const timeout = options.timeout ?? 120000;
    if (typeof timeout !== 'number' || !(timeout > 0)) throw new RangeError('nat option "timeout" must be a positive number');
    const nat = new Nat(pub, mapping, filtering, timeout);
    for (const h of inside) h.nat = nat;
    this.#owners.set(pub.text, nat);
    return nat;
  }

  /** Records every datagram sent from now on into a pcap file at `path` (written as it goes; close() to finish). */
  pcap(path: string): Capture {
    if (typeof path !== 'string') throw new TypeError('pcap(path): path must be a string');
    const capture = new Capture(path);
    this.#captures.push(capture);
    return capture;
  }

  /** Runs everything due in the next `ms` of virtual time, in order (realtime: waits `ms`). */
  advance(ms: number): Promise<void> {
    return this.scheduler.advance(ms);
  }

  /** The clock's time, ms. */
  now(): number {
    return this.scheduler.now();
  }

  /** Closes the network's captures. */
  close(): void {
    for (const c of this.#captures) c.close();
    this.#captures = [];
  }

  #check(h: unknown): asserts h is Host {
    if (!(h instanceof Host) || h.network !== this) throw new TypeError('expected a host of this network');
  }

  #set(a: Host, b: Host, d: Direction): void {
    let m = this.#directions.get(a);
    if (m === undefined) this.#directions.set(a, m = new Map());
    m.set(b, d);
  }

  #direction(a: Host, b: Host): Direction {
    let d = this.#directions.get(a)?.get(b);
    if (d === undefined) {
      const link = new Link(this.#defaultLink);
      this.#set(a, b, link.forward);
      this.#set(b, a, link.backward);
      d = link.forward;
    }
    return d;
  }

  /** @internal A host name as the host's lookup answers it, or null. */
  resolveName(name: string, family: number): { text: string; family: number } | null {
    const literal = isIP(name);
    if (literal !== 0) return { text: name, family: literal };
    if (name === 'localhost') return family === 6 ? { text: '::1', family: 6 } : { text: '127.0.0.1', family: 4 };
    const host = this.#names.get(name);
    if (host === undefined) return null;
    for (const a of host.ips) if (family !== 4 && family !== 6 ? true : a.ip.family === family) return a.ip;
    return null;
  }

  /** @internal Whether `ip` is a broadcast address for `host` (limited, or one of its subnets'). */
  isBroadcast(host: Host, ip: IP): boolean {
    if (ip.family !== 4) return false;
    return ip.text === '255.255.255.255' || host.broadcasts.has(ip.text);
  }

  #trace(kind: TraceKind, reason: string | null, p: Packet, fragments: number, time = this.scheduler.now()): void {
    if (this.listenerCount('trace') === 0) return;
    const ev: TraceEvent = {
      time, kind, reason,
      from: endpointText(p.src.text, p.srcPort),
      to: endpointText(p.dst.text, p.dstPort),
      size: p.data.byteLength, id: p.id, fragments,
    };
    this.emit('trace', ev);
  }

  #capture(p: Packet, mtu: number): void {
    if (this.#captures.length === 0) return;
    const now = this.scheduler.now();
    for (const c of this.#captures) c.record(now, p.src, p.srcPort, p.dst, p.dstPort, p.data, mtu, p.id, p.ttl);
  }

  /** @internal A datagram leaves `sender`: route it, trace it, and schedule its arrival(s). */
  transmit(sender: VirtualSocket, src: IP, srcPort: number, dst: IP, dstPort: number, data: Uint8Array): void {
    const host = sender.host;
    const multicast = isMulticast(dst);
    const p: Packet = {
      id: ++this.#ids, src, srcPort, dst, dstPort, data,
      ttl: multicast ? sender.multicastTTL : sender.ttl, sender, sentTo: dst, sentPort: dstPort,
    };
    if (multicast || this.isBroadcast(host, dst)) {
      const targets: Host[] = [];
      for (const h of this.#hosts) {
        if (h.nat !== host.nat) continue;
        if (h === host ? multicast && !sender.multicastLoop : p.ttl < 1) continue;
        targets.push(h);
      }
      const first = targets.find((h) => h !== host);
      const mtu = first === undefined ? LOOPBACK_MTU : this.#direction(host, first).options.mtu;
      this.#trace('send', null, p, fragmentSizes(dst.family, data.byteLength, mtu).length);
      this.#capture(p, mtu);
      for (const h of targets) this.#carry(host, h, p, true);
      return;
    }
    if (host.owns(dst)) {
      this.#trace('send', null, p, 1);
      this.#capture(p, LOOPBACK_MTU);
      this.#carry(host, host, p, false);
      return;
    }
    const route = this.#route(host, p);
    const to = 'to' in route ? route.to : null;
    const mtu = to === null ? this.#defaultLink.mtu : this.#direction(host, to).options.mtu;
    if (this.listenerCount('trace') > 0) this.#trace('send', null, p, fragmentSizes(dst.family, data.byteLength, mtu).length);
    this.#capture(p, mtu);
    if (to === null) {
      this.#trace('drop', (route as { drop: string }).drop, p, 1);
      return;
    }
    const q = (route as { packet: Packet }).packet;
    if (q !== p) this.#capture(q, mtu);
    this.#carry(host, to, q, false);
  }

  /** Where a unicast datagram goes, through NATs on the way, or why it goes nowhere. */
  #route(host: Host, p: Packet): { to: Host; packet: Packet } | { drop: string } {
    const now = this.scheduler.now();
    let owner = this.#owners.get(p.dst.text);
    let q = p;
    const nat = host.nat;
    if (nat !== null && p.dst.family === 4 && !(owner instanceof Host && owner.nat === nat)) {
      // Leaving the private side: the NAT's public address and a mapped port (no hairpinning).
      if (owner === nat) return { drop: 'no-route' };
      if (q.ttl <= 1) return { drop: 'ttl' };
      const port = nat.outbound(q.src.text, q.srcPort, q.dst.text, q.dstPort, now);
      if (port < 0) return { drop: 'nat-no-mapping' };
      q = { ...q, src: nat.publicIP, srcPort: port, ttl: q.ttl - 1 };
    }
    if (owner instanceof Nat) {
      const inside = owner.inbound(q.dstPort, q.src.text, q.srcPort, now);
      if ('drop' in inside) return { drop: inside.drop };
      if (q.ttl <= 1) return { drop: 'ttl' };
      const ip = parseIP(inside.address)!;
      q = { ...q, dst: ip, dstPort: inside.port, ttl: q.ttl - 1 };
      owner = this.#owners.get(ip.text);
    }
    if (!(owner instanceof Host)) return { drop: 'no-route' };
    // A private address behind someone else's NAT is not reachable from here.
    if (owner.nat !== null && owner.nat !== nat && q === p && p.dst.family === 4) return { drop: 'no-route' };
    return { to: owner, packet: q };
  }

  /** Puts a datagram on the link from `from` to `to` (loopback when they are one host). */
  #carry(from: Host, to: Host, p: Packet, multi: boolean): void {
    const scheduler = this.scheduler;
    if (from === to) {
      // Loopback: the kernel queues it (and answers with ICMP) within the send call itself.
      this.deliver(to, p, multi, 1);
      return;
    }
    const c = this.#direction(from, to).carry(scheduler.now(), p.dst.family, p.data.byteLength, this.random);
    if (c.arrivals.length === 0) {
      this.#trace('drop', c.reason, p, c.fragments);
      return;
    }
    if (c.arrivals.length === 2) this.#trace('duplicate', 'link', p, c.fragments);
    for (const t of c.arrivals) scheduler.schedule(new Arrival(t, this, to, p, multi, c.fragments));
  }

  /** @internal A datagram reaches host `to`: hand it to the socket(s) it is for. */
  deliver(to: Host, p: Packet, multi: boolean, fragments: number): void {
    const sockets = to.demux(p.dst, p.dstPort, p.src, p.srcPort, multi);
    if (sockets.length === 0) {
      if (multi) return;
      this.#trace('drop', 'port-unreachable', p, fragments);
      this.#unreachable(to, p);
      return;
    }
    for (const s of sockets) {
      if (s.enqueue(p.data, p.src, p.srcPort)) this.#trace('deliver', null, p, fragments);
      else this.#trace('drop', 'receive-buffer-full', p, fragments);
    }
  }

  /** The ICMP port unreachable: a connected sender learns ECONNREFUSED once it travels back. */
  #unreachable(at: Host, p: Packet): void {
    const sender = p.sender;
    const peer = sender.peer;
    if (sender.isClosed || peer === null) return;
    const peerIP = unmapV4(peer.ip) ?? peer.ip;
    if (peerIP.text !== p.sentTo.text || peer.port !== p.sentPort) return;
    if (at === sender.host) {
      sender.refused();
      return;
    }
    const back = this.#direction(at, sender.host).options.delay;
    this.scheduler.at(this.scheduler.now() + back, () => sender.refused());
  }
}
