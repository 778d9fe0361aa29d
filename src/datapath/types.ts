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
}

/**
 * One datagram to send: a single chunk or several chunks gathered into one
 * datagram (scatter/gather). */
export type Payload = Uint8Array | readonly Uint8Array[];

export interface DatapathSocket {
  readonly family: Family;
  /**
   * Shared receive metadata, see RECV_META_STRIDE. Made on first use (read
   * or first receive); once the socket is closed, an empty one. */
  readonly recvMeta: Int32Array;
  /** Shared sender address table, see RECV_META_STRIDE; the same lifetime. */
  readonly recvAddresses: string[];

  /** Creates the descriptor if needed and binds it. 0 or -errno. */
  bind(address: string, port: number, flags: number): number;
  /**
   * Adopts an existing descriptor (must be a datagram socket). 0 or -errno.
   * Whoever handed it over may still hold it, so the socket is shared (see
   * `share`) from the start. */
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
  send(payloads: readonly Payload[], count: number, ports: Int32Array | null, addresses: readonly string[] | null): number;
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
  /**
   * Other processes may hold the descriptor from now on (it was handed out):
   * each datagram is taken from the kernel only once the previous one was
   * delivered (batches of one), and none is read after close or
   * stopReceiving, so what this socket does not deliver stays for them.
   * Batching stays for descriptors nobody else can hold. Idempotent. */
  share(): void;
  /** Closes the descriptor and the poll handle. Idempotent. */
  close(): void;
}

export interface Datapath {
  /** A new socket of this family; the descriptor is created lazily by bind/open. */
  createSocket(family: Family): DatapathSocket;
  /** Datagrams taken from the kernel per receive call (recvmmsg vlen). */
  recvBatchSize: number;
}
