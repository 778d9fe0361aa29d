// The seam between the Socket state machine and whatever moves datagrams.
// Everything here is batch-shaped and speaks in negative errno values (libuv
// style: -EAGAIN, -EADDRINUSE, ...) so that a native and a virtual datapath can
// stand behind the same Socket.

/** Address family of a datapath socket. */
export type Family = 4 | 6;

/** Bind flags, the same bit values as libuv's so they read familiar. */
export const BIND_IPV6ONLY = 1;
export const BIND_REUSEADDR = 4;
export const BIND_REUSEPORT = 8;

/** Socket options the datapath can set with `setOption(option, value)`. */
export const enum SocketOption {
  Broadcast = 1,
  TTL = 2,
  MulticastTTL = 3,
  MulticastLoopback = 4,
  RecvBufferSize = 5,
  SendBufferSize = 6,
}

/**
 * Receive features (createSocket's recvPacketInfo, recvEcn, recvTimestamps,
 * recvErrors), bits of `setRecvFeatures(mask)`. All off by default, and off
 * they cost nothing: no control data is asked of the kernel and `recvInfo`
 * is not even allocated.
 */
export const RECV_PACKET_INFO = 1;
export const RECV_ECN = 2;
export const RECV_TIMESTAMPS = 4;
export const RECV_ERRORS = 8;

/**
 * With RECV_PACKET_INFO, RECV_ECN or RECV_TIMESTAMPS on, each batch also
 * fills `recvInfo` (shared and rewritten by the next batch, as `meta` is):
 * for datagram i, at `recvInfo[i * RECV_INFO_STRIDE]`:
 *   +0 slot of the local (destination) address in `addresses`, or -1
 *   +1 interface index it arrived on, or -1
 *   +2 ECN bits (0-3), or -1
 *   +3 kernel receive timestamp, seconds since the epoch, high 32 bits
 *   +4 the same, low 32 bits (read as unsigned)
 *   +5 its nanoseconds, or -1 when there is no timestamp
 * A field is -1 when its feature is off or the kernel attached nothing.
 */
export const RECV_INFO_STRIDE = 6;

/** Where an error-queue entry came from (`IcmpReport.origin`). */
export const ORIGIN_LOCAL = 1;
export const ORIGIN_ICMP = 2;
export const ORIGIN_ICMP6 = 3;

/**
 * One entry of the socket's error queue (RECV_ERRORS): an ICMP error for a
 * datagram this socket sent, or a local error such as EMSGSIZE over a known
 * path MTU. Errors come as batches of these, rarely enough that plain
 * objects are fine.
 */
export interface IcmpReport {
  /** Negative errno: -ECONNREFUSED, -EHOSTUNREACH, -EMSGSIZE, ... */
  errno: number;
  /** The offending datagram's destination. */
  address?: string;
  port?: number;
  /** ORIGIN_LOCAL, ORIGIN_ICMP or ORIGIN_ICMP6 (0: other). */
  origin: number;
  /** ICMP type and code as received. */
  type: number;
  code: number;
  /** For "too big"/"fragmentation needed" (and local EMSGSIZE): the MTU. */
  info: number;
  /** The host or router that reported it. */
  offender?: string;
}

/**
 * Per-datagram send options, batch-shaped like the rest of send(): entry i
 * belongs to datagram i; a missing array or entry means "none".
 *  - `sources[i]`: the local address to send from (IP_PKTINFO /
 *    IPV6_PKTINFO), for a socket bound to a wildcard address.
 *  - `ecn[i]`: ECN bits 0-3 for this datagram (combined with the socket's
 *    TOS), or -1.
 *  - `segmentSizes[i]`: the datagram's payload, one buffer, leaves as
 *    datagrams of this size (UDP GSO, else split in the datapath); 0: none.
 * Datagrams with options never merge with others into one offload send.
 */
export interface SendOptions {
  sources: readonly (string | null)[] | null;
  ecn: Int32Array | null;
  segmentSizes: Int32Array | null;
}

/** A local or remote endpoint as the kernel reports it. */
export interface Endpoint {
  address: string;
  port: number;
  family: Family;
}

/**
 * What a receive batch carries. `data` holds the batch's payloads back to
 * back; it is fresh for each batch and never written again by the datapath.
 * (The Socket copies each datagram into a Buffer of its own, exactly its size,
 * as node:dgram's messages are: `msg.buffer` shows that datagram only.)
 * `meta` is a view shared across batches (it is rewritten by the next batch):
 * for datagram i, at `meta[i * RECV_META_STRIDE]`:
 *   +0 byte offset of the payload in `data`
 *   +1 payload length
 *   +2 sender port
 *   +3 slot of the sender's address string in `addresses`
 *   +4 flags (RECV_FLAG_TRUNCATED)
 * `addresses` is a table of strings, also shared and long-lived: the datapath
 * overwrites a slot only when a new sender lands in it, so formatting an
 * address happens once per sender, not once per datagram.
 */
export const RECV_META_STRIDE = 5;
export const RECV_FLAG_TRUNCATED = 1;

export interface RecvSink {
  /** A batch of `count` datagrams (count >= 1). */
  onBatch(count: number, data: ArrayBuffer): void;
  /** A receive error (negative errno), e.g. -ECONNREFUSED on a connected socket. */
  onRecvError(errno: number): void;
  /** The socket became writable after a send returned -EAGAIN. */
  onWritable(): void;
  /** Error-queue entries (only with RECV_ERRORS). */
  onIcmp?(reports: IcmpReport[]): void;
}

/**
 * One datagram to send: a single chunk or several chunks gathered into one
 * datagram (scatter/gather). */
export type Payload = Uint8Array | readonly Uint8Array[];

export interface DatapathSocket {
  readonly family: Family;
  /** Shared receive metadata, see RECV_META_STRIDE. */
  readonly recvMeta: Int32Array;
  /** Shared sender address table, see RECV_META_STRIDE. */
  readonly recvAddresses: string[];
  /** Per-datagram receive features, see RECV_INFO_STRIDE; exists once setRecvFeatures asked for one. */
  readonly recvInfo?: Int32Array;

  /** Creates the descriptor if needed and binds it. 0 or -errno. */
  bind(address: string, port: number, flags: number): number;
  /** Adopts an existing descriptor (must be a datagram socket). 0 or -errno. */
  open(fd: number): number;
  connect(address: string, port: number): number;
  disconnect(): number;
  /** getsockname: an Endpoint or -errno. */
  localAddress(): Endpoint | number;
  /** getpeername: an Endpoint or -errno. */
  remoteAddress(): Endpoint | number;
  /** The descriptor, or -1 before it exists. */
  fd(): number;

  /** setsockopt for SocketOption; 0 or -errno. */
  setOption(option: SocketOption, value: number): number;
  /** getsockopt for SocketOption; value >= 0, or -errno. */
  getOption(option: SocketOption): number;
  /** IP(V6)_MULTICAST_IF; `iface` is an address of the socket's family (v6 may carry %scope). 0 or -errno. */
  setMulticastInterface(iface: string): number;
  /** IP_ADD/DROP_MEMBERSHIP (or IPv6 equivalents). 0 or -errno. */
  setMembership(group: string, iface: string | null, join: boolean): number;
  /** IP_ADD/DROP_SOURCE_MEMBERSHIP (or MCAST_JOIN/LEAVE_SOURCE_GROUP). 0 or -errno. */
  setSourceMembership(source: string, group: string, iface: string | null, join: boolean): number;

  /**
   * Sends `count` datagrams, the first `count` entries of `payloads`, to the
   * matching `ports[i]`/`addresses[i]`, or to the connected peer when
   * `addresses` is null. One sendmmsg where the platform has it.
   * Returns how many were sent (>= 1), or -errno for the first one (-EAGAIN:
   * nothing was sent; the caller asks for `onWritable` with `waitWritable`).
   */
  send(
    payloads: readonly Payload[], count: number, ports: Int32Array | null, addresses: readonly string[] | null,
    options?: SendOptions | null,
  ): number;
  /** Asks for one `onWritable` once the kernel has room. */
  waitWritable(): void;

  /**
   * Datagrams the kernel dropped because the receive buffer was full, as
   * SO_RXQ_OVFL reports it (enabled at bind), or -1 where unsupported. */
  droppedCount(): number;

  /** Starts delivering datagrams to `sink` (keeps the loop alive unless unref'd). */
  startReceiving(sink: RecvSink): number;
  stopReceiving(): void;
  ref(): void;
  unref(): void;
  /** Closes the descriptor and the poll handle. Idempotent. */
  close(): void;

  // The QUIC-grade extras (issue 12). Optional: a datapath without them
  // leaves the features off, and the Socket says so by name.
  /** Turns the RECV_* features in `mask` on (the rest off); needs the descriptor. The mask now on, or -errno. */
  setRecvFeatures?(mask: number): number;
  /** IP_TOS / IPV6_TCLASS for every datagram after it. 0 or -errno. */
  setTOS?(tos: number): number;
  /** The TOS byte / traffic class, or -errno. */
  getTOS?(): number;
  /** IP(V6)_MTU_DISCOVER: true never fragments (DF set), false lets the kernel fragment. 0 or -errno. */
  setDontFragment?(flag: boolean): number;
  /** IP(V6)_MTU of a connected socket, or -errno (-ENOTCONN). */
  getPathMTU?(): number;
  /** Diagnostics: datagrams with a segment size that left as one UDP GSO send (not split in the datapath). */
  segmentedSends?(): number;
}

export interface Datapath {
  /** A new socket of this family; the descriptor is created lazily by bind/open. */
  createSocket(family: Family): DatapathSocket;
  /** Datagrams taken from the kernel per receive call (recvmmsg vlen). */
  recvBatchSize: number;
}
