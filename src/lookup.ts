// Host name resolution for bind/connect/send, through dns.lookup or the
// user's `lookup` option, called the way node:dgram calls it.
import * as dns from 'node:dns';
import { isIP } from 'node:net';
import type { Family } from './datapath/types';
import { literalsSkipLookup } from './node-line';

/** The shape of the `lookup` option: dns.lookup's. */
export type LookupFunction = (
  hostname: string,
  options: number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family?: number) => void,
) => void;

export type Resolved = (err: Error | null, ip: string) => void;

// dns.lookup as it was when udpkit loaded: while it is still in place, an IP
// literal needs no call (it would only answer on the next tick); once someone
// replaces it (tests, mocks, instrumentation), every address goes through it,
// as in node:dgram up to 24.18 and 26.4 (later, literals never do: see
// literalsSkipLookup).
const builtinLookup = dns.lookup;

/**
 * @internal Marks a lookup function that answers an IP literal with itself
 * (udpkit/vnet's hosts): like dns.lookup, it may be skipped for literals.
 */
export const kAnswersLiterals = Symbol('udpkit.answersLiterals');

export class Resolver {
  readonly #family: Family;
  readonly #custom: LookupFunction | undefined;
  #lastLiteral: string | null = null;

  constructor(family: Family, custom: LookupFunction | undefined) {
    this.#family = family;
    this.#custom = custom;
  }

  /**
   * An IP literal that needs no lookup at all, or null. Only without a custom
   * lookup: a user's lookup is called for every address, as Node does (a
   * vnet host's own lookup excepted: it answers a literal with itself).
   */
  literal(address: unknown): string | null {
    if (typeof address !== 'string') return null;
    if (this.#custom !== undefined) {
      if (!(kAnswersLiterals in this.#custom)) return null;
    } else if (!literalsSkipLookup && dns.lookup !== builtinLookup) {
      return null;
    }
    // Most sockets talk to one or a few peers: skip re-parsing the same literal.
    if (address === this.#lastLiteral) return address;
    if (isIP(address) === 0) return null;
    this.#lastLiteral = address;
    return address;
  }

  /**
   * bind()'s address as an IP literal, or null. From Node 24 on, bind() tests
   * any value with net.isIP, which converts it to a string (a Symbol throws
   * there, a one-element array of an IP passes).
   */
  bindLiteral(address: unknown): string | null {
    if (!literalsSkipLookup || this.#custom !== undefined) return this.literal(address);
    return isIP(address as string) === 0 ? null : String(address);
  }

  /** Resolves asynchronously, never in the same tick (dns.lookup's own contract). */
  resolve(address: unknown, callback: Resolved): void {
    const lookup = (this.#custom ?? dns.lookup) as unknown as (
      host: unknown, family: number,
      cb: (err: Error | null, address: string) => void) => void;
    lookup(address, this.#family, (err, ip) => callback(err, String(ip)));
  }
}
