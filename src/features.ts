// The QUIC-grade datapath features (issue 12) as the Socket exposes them: the
// createSocket options that turn receive features on, the rinfo fields they
// add, sendMany's per-datagram options, and the 'icmp' event. All off by
// default; a socket that asks for none runs node:dgram's behaviour untouched.
import {
  ORIGIN_ICMP, ORIGIN_ICMP6, ORIGIN_LOCAL, RECV_ECN, RECV_ERRORS, RECV_PACKET_INFO, RECV_TIMESTAMPS,
  type IcmpReport, type SendOptions,
} from './datapath/types';
import { errname, invalidArgType, outOfRange } from './errors';

/** The createSocket options of this file. */
export interface ReceiveFeatureOptions {
  /** rinfo.destination and rinfo.interfaceIndex (IP_PKTINFO / IPV6_RECVPKTINFO). */
  recvPacketInfo?: boolean;
  /** rinfo.ecn (IP_RECVTOS / IPV6_RECVTCLASS). */
  recvEcn?: boolean;
  /** rinfo.timestamp, a bigint of nanoseconds since the epoch (SO_TIMESTAMPNS). */
  recvTimestamps?: boolean;
  /** ICMP errors as 'icmp' events (IP_RECVERR / IPV6_RECVERR). */
  recvErrors?: boolean;
}

/** The rinfo fields the receive features add, each only when asked for. */
export interface PacketInfo {
  destination?: string;
  interfaceIndex?: number;
  ecn?: number;
  timestamp?: bigint;
}

/** The argument of the 'icmp' event. */
export interface IcmpEvent {
  /** 'ECONNREFUSED', 'EHOSTUNREACH', 'EMSGSIZE', ... */
  code: string;
  /** The negative errno behind `code`. */
  errno: number;
  /** Destination of the datagram that caused it. */
  address?: string;
  port?: number;
  /** The path MTU, for "fragmentation needed" / "packet too big" (and a local EMSGSIZE). */
  mtu?: number;
  /** 'icmp' or 'icmp6' from the network, 'local' from this host's own stack. */
  origin: 'local' | 'icmp' | 'icmp6' | 'other';
  /** The ICMP type and code as received (0 for local errors). */
  icmpType: number;
  icmpCode: number;
  /** The host or router that sent the ICMP message. */
  offender?: string;
}

/** sendMany's per-datagram options. */
export interface DatagramOptions {
  /** Local address to send from (a socket bound to a wildcard address). */
  source?: string;
  /** ECN bits, 0-3. */
  ecn?: number;
  /** Send the (one) buffer as datagrams of this many bytes. */
  segmentSize?: number;
}

/** A validated DatagramOptions, as the send queue keeps it. */
export interface QueuedOptions {
  source: string | null;
  ecn: number;
  segmentSize: number;
}

const OPTION_BITS: [keyof ReceiveFeatureOptions, number][] = [
  ['recvPacketInfo', RECV_PACKET_INFO], ['recvEcn', RECV_ECN], ['recvTimestamps', RECV_TIMESTAMPS],
  ['recvErrors', RECV_ERRORS],
];

/** The RECV_* mask createSocket's options ask for. Throws for a non-boolean. */
export function receiveFeatureMask(options: ReceiveFeatureOptions): number {
  let mask = 0;
  for (const [name, bit] of OPTION_BITS) {
    const v = options[name];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalidArgType(`options.${name}`, 'boolean', v);
    if (v) mask |= bit;
  }
  return mask;
}

const NS_PER_S = 1_000_000_000n;

/**
 * Adds the fields of recvInfo row `row` that `mask` asked for to `target`
 * (see RECV_INFO_STRIDE). A field the kernel did not attach stays absent.
 */
export function addPacketInfo<T extends object>(target: T, info: Int32Array, row: number, table: readonly string[], mask: number): T & PacketInfo {
  const out = target as T & PacketInfo;
  if (mask & RECV_PACKET_INFO) {
    const slot = info[row]!;
    if (slot >= 0) out.destination = table[slot]!;
    const ifindex = info[row + 1]!;
    if (ifindex >= 0) out.interfaceIndex = ifindex;
  }
  if (mask & RECV_ECN) {
    const ecn = info[row + 2]!;
    if (ecn >= 0) out.ecn = ecn;
  }
  if (mask & RECV_TIMESTAMPS) {
    const ns = info[row + 5]!;
    if (ns >= 0) {
      const seconds = (BigInt(info[row + 3]!) << 32n) + BigInt(info[row + 4]! >>> 0);
      out.timestamp = seconds * NS_PER_S + BigInt(ns);
    }
  }
  return out;
}

const ORIGINS: Record<number, IcmpEvent['origin']> = { [ORIGIN_LOCAL]: 'local', [ORIGIN_ICMP]: 'icmp', [ORIGIN_ICMP6]: 'icmp6' };
const EMSGSIZE = -90;

export function icmpEvent(r: IcmpReport): IcmpEvent {
  const ev: IcmpEvent = {
    code: errname(r.errno), errno: r.errno, address: r.address, port: r.port,
    origin: ORIGINS[r.origin] ?? 'other', icmpType: r.type, icmpCode: r.code,
  };
  if (r.errno === EMSGSIZE && r.info > 0) ev.mtu = r.info;
  if (r.offender !== undefined) ev.offender = r.offender;
  return ev;
}

function integerIn(value: unknown, name: string, lo: number, hi: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value) || value < lo || value > hi) throw outOfRange(name, `>= ${lo} && <= ${hi}`, value);
  return value;
}

/**
 * A sendMany entry's options, validated, or null when it has none. A
 * source of the other family on a udp6 socket is written v4-mapped, as the
 * socket itself sees IPv4 peers.
 */
export function datagramOptions(entry: DatagramOptions, family: 4 | 6): QueuedOptions | null {
  const { source, ecn, segmentSize } = entry;
  if (source === undefined && ecn === undefined && segmentSize === undefined) return null;
  let src: string | null = null;
  if (source !== undefined) {
    if (typeof source !== 'string') throw invalidArgType('source', 'string', source);
    src = family === 6 && /^\d+\.\d+\.\d+\.\d+$/.test(source) ? `::ffff:${source}` : source;
  }
  return {
    source: src,
    ecn: ecn === undefined ? -1 : integerIn(ecn, 'ecn', 0, 3),
    segmentSize: segmentSize === undefined ? 0 : integerIn(segmentSize, 'segmentSize', 1, 65535),
  };
}

/** The datapath's SendOptions for queued datagrams [head, end), or null when none has options. */
export function sendOptions(queued: readonly (QueuedOptions | undefined)[], head: number, end: number): SendOptions | null {
  let any = false;
  for (let i = head; i < end && !any; i++) any = queued[i] !== undefined;
  if (!any) return null;
  const sources: (string | null)[] = [];
  const ecn = new Int32Array(end - head).fill(-1);
  const segmentSizes = new Int32Array(end - head);
  for (let i = head; i < end; i++) {
    const q = queued[i];
    sources.push(q?.source ?? null);
    if (q) {
      ecn[i - head] = q.ecn;
      segmentSizes[i - head] = q.segmentSize;
    }
  }
  return { sources, ecn, segmentSizes };
}
