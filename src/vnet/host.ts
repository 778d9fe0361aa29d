// A host on the virtual network: its addresses (plus loopback), the sockets
// bound on it and the kernel's rules for them (port conflicts, ephemeral
// ports, which socket a datagram goes to), and the name resolution its
// sockets use. createSocket() returns udpkit's own Socket over a
// VirtualSocket of this host.
import { BIND_IPV6ONLY, BIND_REUSEADDR, BIND_REUSEPORT, type Datapath, type Family } from '../datapath/types';
import { kAnswersLiterals, type LookupFunction } from '../lookup';
import { kDatapath, Socket, type RemoteInfo, type SocketOptions, type SocketType } from '../socket';
import { broadcastOf, isLoopback, isMulticast, isWildcard, mapV4, parseIP, unmapV4, type IP } from './address';
import type { Nat } from './nat';
import type { Network } from './network';
import { EADDRINUSE, EADDRNOTAVAIL, VirtualSocket } from './socket';

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
const LOOPBACK4 = parseIP('127.0.0.1')!;
const LOOPBACK6 = parseIP('::1')!;

/** One address of a host with its prefix length (the subnet broadcasts go to). */
export interface HostAddress {
  ip: IP;
  prefix: number;
}

/** What dns.lookup gives for a name it cannot find. */
function notFound(hostname: string): NodeJS.ErrnoException {
  const err = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as NodeJS.ErrnoException & { hostname: string };
  err.errno = -3008;
  err.code = 'ENOTFOUND';
  err.syscall = 'getaddrinfo';
  err.hostname = hostname;
  return err;
}

function answer(network: Network, hostname: string, family: number, callback: Parameters<LookupFunction>[2]): void {
  const ip = network.resolveName(hostname, family);
  if (ip === null) callback(notFound(hostname), '', undefined);
  else callback(null, ip.text, ip.family);
}

export class Host {
  readonly network: Network;
  /** The host's addresses (without loopback), as given. */
  readonly addresses: readonly string[];
  /** The name other hosts' sockets resolve to this host, if any. */
  readonly name: string | undefined;
  /** @internal */ readonly ips: readonly HostAddress[];
  /** @internal Directed broadcast addresses of the host's IPv4 subnets. */
  readonly broadcasts: ReadonlySet<string>;
  /** @internal The NAT this host sits behind, if any. */
  nat: Nat | null = null;
  /** @internal Bound sockets, in bind order. */
  readonly sockets: VirtualSocket[] = [];
  #bindSeq = 0;
  readonly #datapath: Datapath;

  /** @internal Use network.host(). */
  constructor(network: Network, ips: HostAddress[], name: string | undefined) {
    this.network = network;
    this.ips = ips;
    this.addresses = ips.map((a) => a.ip.text);
    this.name = name;
    this.broadcasts = new Set(ips.filter((a) => a.ip.family === 4 && a.prefix < 31).map((a) => broadcastOf(a.ip, a.prefix).text));
    const host = this;
    // Socket may skip this lookup for IP literals, which it answers unchanged.
    Object.defineProperty(this.lookup, kAnswersLiterals, { value: true });
    this.#datapath = {
      createSocket: (family: Family) => new VirtualSocket(host, family, network.recvBatchSize),
      recvBatchSize: network.recvBatchSize,
    };
  }

  /** The host's first address (what `net.host(address)` was given). */
  get address(): string {
    return this.addresses[0]!;
  }

  /**
   * A udpkit Socket on this host: the arguments of dgram.createSocket. Names
   * resolve on the virtual network (see lookup) unless options.lookup is given.
   */
  createSocket(type: SocketType | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): Socket {
    const options: SocketOptions = typeof type === 'object' && type !== null ? { ...type } : { type: type as SocketType };
    if (options.lookup === undefined) options.lookup = this.lookup;
    (options as { [kDatapath]?: Datapath })[kDatapath] = this.#datapath;
    return new Socket(options, listener);
  }

  /**
   * dns.lookup's shape, for this host: IP literals as they are, 'localhost'
   * as this host's loopback, names given to network.host() as that host's
   * address of the wanted family; anything else fails with ENOTFOUND. Answers
   * on a later tick, as dns.lookup does.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts = options as unknown;
    const family = typeof opts === 'number' ? opts
      : typeof opts === 'object' && opts !== null ? Number((opts as { family?: unknown }).family) || 0 : 0;
    process.nextTick(answer, this.network, String(hostname), family, callback);
  };


  /** @internal Whether `ip` is one of this host's addresses or loopback. */
  owns(ip: IP): boolean {
    if (isLoopback(ip)) return true;
    for (const a of this.ips) if (a.ip.text === ip.text) return true;
    return false;
  }

  /** @internal The source address for a datagram to `dst`: loopback for loopback, else the first address of its family. */
  sourceFor(dst: IP): IP | null {
    if (isLoopback(dst)) return dst.family === 4 ? LOOPBACK4 : LOOPBACK6;
    for (const a of this.ips) if (a.ip.family === dst.family) return a.ip;
    if (this.owns(dst)) return dst;
    return null;
  }

  /** @internal The IPv4 and IPv6 addresses a bound socket takes datagrams for ('*' any). */
  static coverage(family: Family, ip: IP, flags: number): { v4: string | null; v6: string | null } {
    if (family === 4) return { v4: isWildcard(ip) ? '*' : ip.text, v6: null };
    const v4only = unmapV4(ip);
    if (v4only !== null) return { v4: v4only.text, v6: null };
    if (isWildcard(ip)) return { v4: (flags & BIND_IPV6ONLY) !== 0 ? null : '*', v6: '*' };
    return { v4: null, v6: ip.text };
  }

  /** @internal The kernel's bind(): address check, conflicts, ephemeral port. */
  bindSocket(socket: VirtualSocket, ip: IP, port: number, flags: number): number {
    const mapped = unmapV4(ip);
    const own = mapped ?? ip;
    if (!isWildcard(own) && !isMulticast(own) && !this.owns(own) && !this.network.isBroadcast(this, own)) return EADDRNOTAVAIL;
    const mine = Host.coverage(socket.family, ip, flags);
    const conflicts = (p: number): boolean => {
      for (const other of this.sockets) {
        if (other.port !== p || other.isClosed) continue;
        const theirs = other.coverage;
        const overlap = (a: string | null, b: string | null): boolean => a !== null && b !== null && (a === '*' || b === '*' || a === b);
        if (!overlap(mine.v4, theirs.v4) && !overlap(mine.v6, theirs.v6)) continue;
        const shared = ((flags & other.flags & BIND_REUSEADDR) !== 0) || ((flags & other.flags & BIND_REUSEPORT) !== 0);
        if (!shared) return true;
      }
      return false;
    };
    let chosen = port;
    if (chosen === 0) {
      const rng = this.network.random;
      chosen = -1;
      for (let tries = 0; tries < 64 && chosen < 0; tries++) {
        const p = rng.int(EPHEMERAL_LOW, EPHEMERAL_HIGH);
        if (!conflicts(p)) chosen = p;
      }
      for (let p = EPHEMERAL_LOW; chosen < 0 && p <= EPHEMERAL_HIGH; p++) if (!conflicts(p)) chosen = p;
      if (chosen < 0) return EADDRINUSE;
    } else if (conflicts(chosen)) {
      return EADDRINUSE;
    }
    socket.bound = ip;
    socket.port = chosen;
    socket.flags = flags;
    socket.coverage = mine;
    socket.bindSeq = ++this.#bindSeq;
    this.sockets.push(socket);
    return 0;
  }

  /** @internal */
  releaseSocket(socket: VirtualSocket): void {
    const i = this.sockets.indexOf(socket);
    if (i >= 0) this.sockets.splice(i, 1);
  }

  /** @internal Whether any socket on the host joined `group` for datagrams from `source`. */
  joined(group: IP, source: IP): boolean {
    for (const s of this.sockets) if (s.wants(group.text, source.text)) return true;
    return false;
  }

  /**
   * @internal The sockets a datagram to dst:port from src:srcPort goes to. Unicast:
   * the best match only (connected over unconnected, a specific address over the
   * wildcard; among equals, SO_REUSEPORT spreads by sender, otherwise the last
   * bound wins). Multicast and broadcast: every match.
   */
  demux(dst: IP, port: number, src: IP, srcPort: number, multi: boolean): VirtualSocket[] {
    const out: VirtualSocket[] = [];
    let best = -1;
    // Group membership is the host's (Linux's IP_MULTICAST_ALL default): any socket's join opens the port's sockets to it.
    if (multi && isMulticast(dst) && !this.joined(dst, src)) return out;
    for (const s of this.sockets) {
      if (s.port !== port || s.isClosed) continue;
      const cov = s.coverage;
      const want = dst.family === 4 ? cov.v4 : cov.v6;
      if (want === null || (want !== '*' && want !== dst.text)) continue;
      if (s.peer !== null) {
        const peer = s.family === 6 && src.family === 4 ? mapV4(src).text : src.text;
        if (s.peer.ip.text !== peer || s.peer.port !== srcPort) continue;
      }
      if (s.local !== null && !multi && s.local.text !== dst.text && !(dst.family === 4 && s.local.text === mapV4(dst).text)) continue;
      if (multi) {
        out.push(s);
        continue;
      }
      const score = (s.peer !== null ? 4 : 0) + (want !== '*' ? 2 : 0) + (s.family === dst.family ? 1 : 0);
      if (score > best) {
        best = score;
        out.length = 0;
      }
      if (score === best) out.push(s);
    }
    if (multi || out.length <= 1) return out;
    if (out.every((s) => (s.flags & BIND_REUSEPORT) !== 0)) {
      // A stable hash of the sender picks the socket, as SO_REUSEPORT's does.
      let h = srcPort;
      for (const b of src.bytes) h = (Math.imul(h, 31) + b) >>> 0;
      return [out[h % out.length]!];
    }
    let last = out[0]!;
    for (const s of out) if (s.bindSeq > last.bindSeq) last = s;
    return [last];
  }
}
