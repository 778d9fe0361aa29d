// What a link does to one datagram: queues it behind the link's rate, cuts it
// into fragments when it is larger than the MTU (as the sending kernel
// would), loses, duplicates, delays, jitters and reorders it. The outcome is
// a list of arrival times (none: lost; two: duplicated), drawn from the
// network's seeded generator in a fixed order, so one seed gives one fate.
import type { Family } from '../datapath/types';
import type { Random } from './random';

export interface LinkOptions {
  /** One-way propagation delay, ms. Default 0. */
  delay?: number;
  /** Each datagram's delay varies uniformly by up to ± this, ms (it can reorder). Default 0. */
  jitter?: number;
  /** Probability that a datagram (each fragment, for a fragmented one) is lost. Default 0. */
  loss?: number;
  /** Probability that a datagram arrives twice. Default 0. */
  duplicate?: number;
  /** Probability that a datagram is held back by `reorderDelay` so that later ones overtake it. Default 0. */
  reorder?: number;
  /** How long a reordered datagram is held back, ms. Default: delay + jitter, at least 1. */
  reorderDelay?: number;
  /** Largest IP packet the link carries, bytes; larger datagrams are fragmented. Default 1500. */
  mtu?: number;
  /** Bytes per second the link serialises; 0 is unlimited. Default 0. */
  rate?: number;
  /** Bytes that may wait for the link when `rate` limits it; beyond, datagrams are dropped. Default Infinity. */
  queue?: number;
}

export type ResolvedLinkOptions = Required<LinkOptions>;

const DEFAULTS: ResolvedLinkOptions = {
  delay: 0, jitter: 0, loss: 0, duplicate: 0, reorder: 0, reorderDelay: -1, mtu: 1500, rate: 0, queue: Infinity,
};

function check(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new RangeError(`link option "${name}" must be a number in ${min}..${max}. Received ${String(value)}`);
  }
  return value;
}

/** Validates link options over a base (the network's defaults). */
export function resolveLinkOptions(options: LinkOptions | undefined, base: ResolvedLinkOptions = DEFAULTS): ResolvedLinkOptions {
  const out = { ...base };
  if (options === undefined) return out;
  if (options === null || typeof options !== 'object') throw new TypeError('link options must be an object');
  for (const key of Object.keys(options) as (keyof LinkOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    switch (key) {
      case 'delay': case 'jitter': case 'rate': out[key] = check(key, value, 0, Number.MAX_SAFE_INTEGER); break;
      case 'reorderDelay': out[key] = check(key, value, 0, Number.MAX_SAFE_INTEGER); break;
      case 'queue': out[key] = check(key, value, 0, Infinity); break;
      case 'loss': case 'duplicate': case 'reorder': out[key] = check(key, value, 0, 1); break;
      case 'mtu': out[key] = Math.floor(check(key, value, 68, 65535)); break;
      default: throw new TypeError(`unknown link option "${String(key)}"`);
    }
  }
  return out;
}

const IP_HEADER = { 4: 20, 6: 40 } as const;
const UDP_HEADER = 8;
const FRAG_HEADER_V6 = 8;

/** IP packet sizes of a UDP datagram of `payload` bytes over `mtu`: one entry per fragment. */
export function fragmentSizes(family: Family, payload: number, mtu: number): number[] {
  const ip = IP_HEADER[family];
  const total = UDP_HEADER + payload;
  if (ip + total <= mtu) return [ip + total];
  const extra = family === 6 ? FRAG_HEADER_V6 : 0;
  // Fragment payloads are multiples of 8 bytes, except the last.
  const per = Math.floor((mtu - ip - extra) / 8) * 8;
  const sizes: number[] = [];
  for (let off = 0; off < total; off += per) sizes.push(ip + extra + Math.min(per, total - off));
  return sizes;
}

/** The fate of one datagram on one link. */
export interface Carried {
  /** Arrival times; the second, if any, is a duplicate. Empty when lost. */
  arrivals: number[];
  /** Why nothing arrives: 'loss', 'fragment-loss' or 'queue-full'. */
  reason: string | null;
  /** Fragments the datagram was cut into (1: not fragmented). */
  fragments: number;
  /** Fragments lost (for the trace of a fragmented datagram). */
  lostFragments: number;
}

/** One direction of a link: the options plus the time the transmitter is busy until. */
export class Direction {
  options: ResolvedLinkOptions;
  #busyUntil = 0;

  constructor(options: ResolvedLinkOptions) {
    this.options = options;
  }

  // Reused for every datagram: the caller reads it before the next carry().
  readonly #result: Carried = { arrivals: [], reason: null, fragments: 1, lostFragments: 0 };

  carry(now: number, family: Family, payload: number, rng: Random): Carried {
    const o = this.options;
    const ip = IP_HEADER[family];
    const total = UDP_HEADER + payload;
    const whole = ip + total <= o.mtu;
    // Fragment payloads are multiples of 8 bytes, except the last.
    const per = whole ? total : Math.floor((o.mtu - ip - (family === 6 ? FRAG_HEADER_V6 : 0)) / 8) * 8;
    const fragments = whole ? 1 : Math.ceil(total / per);
    const head = whole ? ip : ip + (family === 6 ? FRAG_HEADER_V6 : 0);
    const copies = rng.chance(o.duplicate) ? 2 : 1;
    const out = this.#result;
    out.arrivals.length = 0;
    out.reason = null;
    out.fragments = fragments;
    out.lostFragments = 0;
    let reason: string | null = null;
    for (let copy = 0; copy < copies; copy++) {
      let arrival = 0;
      let lost = 0;
      for (let f = 0; f < fragments; f++) {
        const size = head + Math.min(per, total - f * per);
        let sent = now;
        if (o.rate > 0) {
          const start = Math.max(now, this.#busyUntil);
          if ((start - now) * o.rate / 1000 > o.queue) {
            reason ??= 'queue-full';
            lost = fragments;
            break;
          }
          sent = start + (size * 1000) / o.rate;
          this.#busyUntil = sent;
        }
        if (rng.chance(o.loss)) {
          lost++;
          continue;
        }
        let delay = o.delay;
        if (o.jitter > 0) delay = Math.max(0, delay + (rng.next() * 2 - 1) * o.jitter);
        arrival = Math.max(arrival, sent + delay);
      }
      if (lost > 0) {
        // A datagram is reassembled only when every fragment made it.
        reason ??= fragments > 1 ? 'fragment-loss' : 'loss';
        if (copy === 0) out.lostFragments = lost;
        continue;
      }
      if (rng.chance(o.reorder)) arrival += o.reorderDelay >= 0 ? o.reorderDelay : Math.max(1, o.delay + o.jitter);
      out.arrivals.push(Math.round(arrival * 1000) / 1000);
    }
    out.reason = out.arrivals.length > 0 ? null : reason;
    return out;
  }
}

/** A link between two hosts: one Direction each way, sharing options. */
export class Link {
  readonly forward: Direction;
  readonly backward: Direction;

  constructor(options: ResolvedLinkOptions) {
    this.forward = new Direction(options);
    this.backward = new Direction(options);
  }

  /** Changes the link's options from now on (both directions). */
  set(options: LinkOptions): this {
    const next = resolveLinkOptions(options, this.forward.options);
    this.forward.options = next;
    this.backward.options = next;
    return this;
  }

  get options(): Readonly<ResolvedLinkOptions> {
    return this.forward.options;
  }
}
