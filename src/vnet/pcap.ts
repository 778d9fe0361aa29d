// A capture file Wireshark and tcpdump open: classic libpcap format, link type
// RAW (101: each record is an IPv4 or IPv6 packet, no link header), with real
// IP and UDP headers and checksums. A datagram larger than the link MTU is
// written as the fragments the sending kernel would put on the wire, so the
// reader reassembles it as it would a real capture.
import * as fs from 'node:fs';
import type { IP } from './address';

const LINKTYPE_RAW = 101;
const SNAPLEN = 262144;
const FLUSH_AT = 1 << 16;

function sum16(buf: Uint8Array, start: number, end: number, acc: number): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if ((end - start) & 1) s += buf[end - 1]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The UDP datagram (header + payload) with its checksum over the pseudo-header. */
function udpDatagram(src: IP, dst: IP, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const len = 8 + payload.byteLength;
  const udp = new Uint8Array(len);
  const v = new DataView(udp.buffer);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint16(4, len & 0xffff);
  udp.set(payload, 8);
  let s = sum16(src.bytes, 0, src.bytes.length, 0);
  s = sum16(dst.bytes, 0, dst.bytes.length, s);
  s += 17 + len;
  s = sum16(udp, 0, len, s);
  let c = ~fold(s) & 0xffff;
  if (c === 0) c = 0xffff; // 0 means "no checksum" in UDP over IPv4
  v.setUint16(6, c);
  return udp;
}

/** IP packets carrying `udp`: one, or its fragments over `mtu`. */
function ipPackets(src: IP, dst: IP, udp: Uint8Array, mtu: number, id: number, ttl: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (src.family === 4) {
    const per = udp.byteLength + 20 <= mtu ? udp.byteLength : Math.floor((mtu - 20) / 8) * 8;
    for (let off = 0; off < udp.byteLength; off += per) {
      const chunk = udp.subarray(off, Math.min(off + per, udp.byteLength));
      const p = new Uint8Array(20 + chunk.byteLength);
      const v = new DataView(p.buffer);
      p[0] = 0x45;
      v.setUint16(2, p.byteLength);
      v.setUint16(4, id & 0xffff);
      const more = off + per < udp.byteLength ? 0x2000 : 0;
      v.setUint16(6, more | (off / 8));
      p[8] = ttl;
      p[9] = 17;
      p.set(src.bytes, 12);
      p.set(dst.bytes, 16);
      v.setUint16(10, ~fold(sum16(p, 0, 20, 0)) & 0xffff);
      p.set(chunk, 20);
      out.push(p);
    }
    return out;
  }
  const whole = udp.byteLength + 40 <= mtu;
  const per = whole ? udp.byteLength : Math.floor((mtu - 48) / 8) * 8;
  for (let off = 0; off < udp.byteLength; off += per) {
    const chunk = udp.subarray(off, Math.min(off + per, udp.byteLength));
    const head = whole ? 40 : 48;
    const p = new Uint8Array(head + chunk.byteLength);
    const v = new DataView(p.buffer);
    p[0] = 0x60;
    v.setUint16(4, (p.byteLength - 40) & 0xffff);
    p[6] = whole ? 17 : 44;
    p[7] = ttl;
    p.set(src.bytes, 8);
    p.set(dst.bytes, 24);
    if (!whole) {
      p[40] = 17;
      const more = off + per < udp.byteLength ? 1 : 0;
      v.setUint16(42, off | more);
      v.setUint32(44, id >>> 0);
    }
    p.set(chunk, head);
    out.push(p);
  }
  return out;
}

/** An open capture: records go to `path` until close(). */
export class Capture {
  readonly path: string;
  #fd: number;
  #chunks: Uint8Array[] = [];
  #pending = 0;
  #packets = 0;
  #onExit = (): void => this.flush();

  constructor(path: string) {
    this.path = path;
    this.#fd = fs.openSync(path, 'w');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_RAW, 20);
    fs.writeSync(this.#fd, header);
    // A capture is readable even if the program never closes it.
    process.once('exit', this.#onExit);
  }

  /** Packets written so far (fragments count one each). */
  get packets(): number {
    return this.#packets;
  }

  /** @internal Records one datagram at virtual time `time` (ms). */
  record(time: number, src: IP, srcPort: number, dst: IP, dstPort: number, payload: Uint8Array, mtu: number, id: number, ttl: number): void {
    if (this.#fd < 0) return;
    const udp = udpDatagram(src, dst, srcPort, dstPort, payload);
    const micros = Math.round(time * 1000);
    for (const packet of ipPackets(src, dst, udp, mtu, id, ttl)) {
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(Math.floor(micros / 1e6), 0);
      rec.writeUInt32LE(micros % 1e6, 4);
      rec.writeUInt32LE(packet.byteLength, 8);
      rec.writeUInt32LE(packet.byteLength, 12);
      this.#chunks.push(rec, packet);
      this.#pending += 16 + packet.byteLength;
      this.#packets++;
    }
    if (this.#pending >= FLUSH_AT) this.flush();
  }

  /** Writes buffered records to the file. */
  flush(): void {
    if (this.#fd < 0 || this.#chunks.length === 0) return;
    fs.writeSync(this.#fd, Buffer.concat(this.#chunks));
    this.#chunks = [];
    this.#pending = 0;
  }

  /** Flushes and closes the file; later datagrams are not recorded. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.flush();
    fs.closeSync(this.#fd);
    this.#fd = -1;
    process.removeListener('exit', this.#onExit);
  }
}
