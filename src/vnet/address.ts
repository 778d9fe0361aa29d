// IP addresses as the virtual network handles them: parsed once into bytes,
// compared and printed in one canonical text form (RFC 5952 for IPv6), so that
// '0:0::1' and '::1' name the same endpoint and rinfo shows what a kernel shows.
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from '../datapath/types';

/** An address in bytes (4 or 16) with its canonical text. */
export interface IP {
  readonly family: Family;
  readonly bytes: Uint8Array;
  readonly text: string;
  /** Classified once, when parsed: these are asked for every datagram. */
  readonly wildcard: boolean;
  readonly loopback: boolean;
  readonly multicast: boolean;
}

function make(family: Family, bytes: Uint8Array, text: string): IP {
  return {
    family, bytes, text,
    wildcard: bytes.every((b) => b === 0),
    loopback: family === 4 ? bytes[0] === 127 : text === '::1',
    multicast: family === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff,
  };
}

function parse4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function parse6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let src = text;
  // A trailing dotted quad (::ffff:1.2.3.4) is the last 32 bits.
  const dot = src.lastIndexOf('.');
  if (dot >= 0) {
    const colon = src.lastIndexOf(':');
    out.set(parse4(src.slice(colon + 1)), 12);
    src = `${src.slice(0, colon + 1)}0:0`;
  }
  const [head, tail] = src.includes('::') ? src.split('::') as [string, string] : [src, null];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const words = tail === null ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    // Keep the dotted quad already written for the last two groups.
    if (dot >= 0 && i >= 6) break;
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

function format6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // IPv4-mapped addresses print with a dotted quad, as the kernel's do.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // The longest run (>= 2) of zero words becomes '::' (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

// Programs talk to a few peers over and over: parse each literal once.
const cache = new Map<string, IP | null>();
const CACHE_MAX = 4096;

/** Parses an IP literal (no zone), or returns null. The result is shared: never modify it. */
export function parseIP(text: string): IP | null {
  let ip = cache.get(text);
  if (ip !== undefined) return ip;
  ip = parseUncached(text);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(text, ip);
  return ip;
}

function parseUncached(text: string): IP | null {
  if (isIPv4(text)) {
    const bytes = parse4(text);
    return make(4, bytes, bytes.join('.'));
  }
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = parse6(text);
    return make(6, bytes, format6(bytes));
  }
  return null;
}

/** The IP from bytes. */
export function ipFromBytes(bytes: Uint8Array): IP {
  const family: Family = bytes.length === 4 ? 4 : 6;
  return make(family, bytes, family === 4 ? bytes.join('.') : format6(bytes));
}

export function isWildcard(ip: IP): boolean {
  return ip.wildcard;
}

export function isLoopback(ip: IP): boolean {
  return ip.loopback;
}

export function isMulticast(ip: IP): boolean {
  return ip.multicast;
}

/** ::ffff:a.b.c.d as its IPv4 address, or null. */
export function unmapV4(ip: IP): IP | null {
  if (ip.family !== 6 || !ip.text.startsWith('::ffff:') || !ip.text.includes('.')) return null;
  return parseIP(ip.text.slice(7));
}

/** a.b.c.d as ::ffff:a.b.c.d. */
export function mapV4(ip: IP): IP {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(ip.bytes, 12);
  return ipFromBytes(bytes);
}

/** Whether `ip` lies in prefix/len. */
export function inPrefix(ip: IP, prefix: IP, len: number): boolean {
  if (ip.family !== prefix.family) return false;
  for (let bit = 0; bit < len; bit += 8) {
    const i = bit >> 3;
    const keep = Math.min(8, len - bit);
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((ip.bytes[i]! & mask) !== (prefix.bytes[i]! & mask)) return false;
  }
  return true;
}

/** The directed broadcast address of prefix/len (IPv4). */
export function broadcastOf(prefix: IP, len: number): IP {
  const bytes = Uint8Array.from(prefix.bytes);
  for (let bit = len; bit < 32; bit++) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return ipFromBytes(bytes);
}

/** How a trace and pcap name an endpoint: 10.0.0.1:53, [fd00::1]:53. */
export function endpointText(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
