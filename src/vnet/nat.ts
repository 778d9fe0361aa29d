// A NAT between some hosts (inside) and the rest of the network, with the
// three mapping behaviours of RFC 4787: a mapping is reused for every
// destination (endpoint-independent), per destination address
// (address-dependent), or per destination address and port
// (address-and-port-dependent). Inbound datagrams pass only through an
// existing mapping and its filter (by default the same rule as the mapping).
// IPv4 only; the NAT keeps the internal port when it is free on the public
// address, else takes the next free one from 49152 up, so runs are replayable.
import type { IP } from './address';

export type NatBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

const BEHAVIOURS: readonly NatBehaviour[] = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'];

interface Mapping {
  insideAddress: string;
  insidePort: number;
  publicPort: number;
  key: string;
  /** Remote endpoints this mapping has sent to: 'addr' and 'addr:port' entries. */
  contacted: Set<string>;
  lastUsed: number;
}

export class Nat {
  /** @internal */ readonly publicIP: IP;
  readonly mapping: NatBehaviour;
  readonly filtering: NatBehaviour;
  /** Idle time after which a mapping is forgotten, ms. */
  readonly timeout: number;
  #byKey = new Map<string, Mapping>();
  #byPort = new Map<number, Mapping>();
  #nextPort = 49152;

  /** @internal Use network.nat(). */
  constructor(publicIP: IP, mapping: NatBehaviour, filtering: NatBehaviour, timeout: number) {
    this.publicIP = publicIP;
    this.mapping = mapping;
    this.filtering = filtering;
    this.timeout = timeout;
  }

  /** The NAT's public IPv4 address. */
  get publicAddress(): string {
    return this.publicIP.text;
  }

  /** @internal */
  static behaviour(name: string, value: unknown, fallback: NatBehaviour): NatBehaviour {
    if (value === undefined) return fallback;
    if (!BEHAVIOURS.includes(value as NatBehaviour)) {
      throw new TypeError(`nat option "${name}" must be one of ${BEHAVIOURS.join(', ')}. Received ${String(value)}`);
    }
    return value as NatBehaviour;
  }

  #keyOf(address: string, port: number, remote: string, remotePort: number): string {
    const inside = `${address}|${port}`;
    if (this.mapping === 'endpoint-independent') return inside;
    if (this.mapping === 'address-dependent') return `${inside}|${remote}`;
    return `${inside}|${remote}|${remotePort}`;
  }

  #live(m: Mapping | undefined, now: number): Mapping | undefined {
    if (m === undefined) return undefined;
    if (now - m.lastUsed <= this.timeout) return m;
    this.#byKey.delete(m.key);
    this.#byPort.delete(m.publicPort);
    return undefined;
  }

  /** The public port for an outbound datagram (creating or refreshing its mapping), or -1 when ports ran out. */
  outbound(address: string, port: number, remote: string, remotePort: number, now: number): number {
    const key = this.#keyOf(address, port, remote, remotePort);
    let m = this.#live(this.#byKey.get(key), now);
    if (m === undefined) {
      const publicPort = this.#allocate(port, now);
      if (publicPort < 0) return -1;
      m = { insideAddress: address, insidePort: port, publicPort, key, contacted: new Set(), lastUsed: now };
      this.#byKey.set(key, m);
      this.#byPort.set(publicPort, m);
    }
    m.lastUsed = now;
    m.contacted.add(remote);
    m.contacted.add(`${remote}|${remotePort}`);
    return m.publicPort;
  }

  /**
   * Where an inbound datagram to the public port goes: the inside endpoint, or
   * the reason it is dropped. (Inbound traffic does not refresh a mapping.)
   */
  inbound(publicPort: number, remote: string, remotePort: number, now: number):
    { address: string; port: number } | { drop: 'nat-no-mapping' | 'nat-filtered' } {
    const m = this.#live(this.#byPort.get(publicPort), now);
    if (m === undefined) return { drop: 'nat-no-mapping' };
    if (this.filtering === 'address-dependent' && !m.contacted.has(remote)) return { drop: 'nat-filtered' };
    if (this.filtering === 'address-and-port-dependent' && !m.contacted.has(`${remote}|${remotePort}`)) return { drop: 'nat-filtered' };
    return { address: m.insideAddress, port: m.insidePort };
  }

  /** Live mappings, for inspection: inside endpoint → public port. */
  mappings(now: number): { inside: string; publicPort: number }[] {
    const out: { inside: string; publicPort: number }[] = [];
    for (const m of [...this.#byPort.values()]) {
      if (this.#live(m, now) !== undefined) out.push({ inside: `${m.insideAddress}:${m.insidePort}`, publicPort: m.publicPort });
    }
    return out;
  }

  #allocate(preferred: number, now: number): number {
    if (this.#live(this.#byPort.get(preferred), now) === undefined) return preferred;
    for (let tries = 0; tries < 65536 - 1024; tries++) {
      const port = this.#nextPort;
      this.#nextPort = port >= 65535 ? 1024 : port + 1;
      if (this.#live(this.#byPort.get(port), now) === undefined) return port;
    }
    return -1;
  }
}
