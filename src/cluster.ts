// Cluster sharing for non-exclusive binds in workers, the way node:dgram does
// it: the worker asks the primary (cluster._getServer, the worker half of
// node's cluster protocol), the primary binds one socket per
// address:port:type and passes it to every worker that asks. udpkit then
// duplicates the descriptor of the handle it received and reads from the
// duplicate with its own datapath; node's handle stays parked (never read
// from) so the primary keeps counting this worker, and is closed when the
// udpkit socket closes or when the worker disconnects.
import type { EventEmitter } from 'node:events';
import { loadAddon } from './datapath/addon';
import type { Family } from './datapath/types';

export interface SharedBindRequest {
  address: string;
  port: number;
  addressType: 4 | 6;
  flags: number;
}

type Callback = (errno: number, fd: number, release: () => void) => void;

/** The part of a handle the primary passed us that we use. */
interface ClusterHandle {
  readonly fd: number;
  close(callback?: () => void): unknown;
}

interface GetServerOptions {
  address: string;
  port: number;
  addressType: 'udp4' | 'udp6';
  fd: number;
  flags: number;
}

interface ClusterWorkerModule {
  isWorker: boolean;
  _getServer?: (
    owner: EventEmitter,
    options: GetServerOptions,
    callback: (errno: number | undefined, handle: ClusterHandle | null) => void,
  ) => void;
}

interface NativeSocket {
  bind(address: string, port: number, flags: number): number;
  open(fd: number): number;
  fd(): number;
  close(): void;
}

interface NativeAddon {
  Socket: new (family: Family) => NativeSocket;
  dupDescriptor(fd: number): number;
}

// Flags libuv's uv_udp_bind understands (the primary binds with node's own
// handle): IPV6ONLY and REUSEADDR have the same values in udpkit.
const UV_UDP_IPV6ONLY = 1;
const UV_UDP_REUSEADDR = 4;
const BIND_REUSEPORT = 8;
const EINVAL = -22;

let addon: NativeAddon | undefined;
function native(): NativeAddon {
  addon ??= loadAddon() as NativeAddon;
  return addon;
}

/** Closes a descriptor we duplicated but nobody adopted. */
function closeDescriptor(fd: number, family: Family): void {
  const s = new (native().Socket)(family);
  if (s.open(fd) === 0) s.close();
}

/**
 * A socket of this worker's own (no sharing): used for reusePort binds, where
 * the point is that every process binds its own socket and the kernel spreads
 * datagrams over them (node >= 22.12 makes reusePort binds exclusive too), and
 * when the cluster protocol is unavailable.
 */
function bindLocally(request: SharedBindRequest, callback: Callback): void {
  const family: Family = request.addressType;
  const s = new (native().Socket)(family);
  let err = s.bind(request.address, request.port, request.flags);
  let fd = -1;
  if (err === 0) {
    fd = native().dupDescriptor(s.fd());
    if (fd < 0) err = fd;
  }
  s.close();
  process.nextTick(callback, err, err === 0 ? fd : -1, () => {});
}

export function acquireShared(owner: EventEmitter, request: SharedBindRequest, callback: Callback): void {
  const cluster = require('node:cluster') as ClusterWorkerModule;
  if (!cluster.isWorker || typeof cluster._getServer !== 'function' || (request.flags & BIND_REUSEPORT) !== 0) {
    bindLocally(request, callback);
    return;
  }
  const family: Family = request.addressType;
  const options: GetServerOptions = {
    address: request.address,
    port: request.port,
    addressType: family === 6 ? 'udp6' : 'udp4',
    fd: -1,
    flags: request.flags & (UV_UDP_IPV6ONLY | UV_UDP_REUSEADDR),
  };

  cluster._getServer(owner, options, (errno, handle) => {
    if (errno) {
      callback(errno < 0 ? errno : -errno, -1, () => {});
      return;
    }
    if (!handle) {
      callback(EINVAL, -1, () => {});
      return;
    }
    // cluster patched handle.close to tell the primary this worker is done
    // with the shared socket; keep that one and call it exactly once.
    const clusterClose = handle.close;
    let parked = true;
    const unpark = (done?: () => void): void => {
      if (!parked) {
        if (done) process.nextTick(done);
        return;
      }
      parked = false;
      handle.close = clusterClose;
      clusterClose.call(handle, done);
    };

    const fd = native().dupDescriptor(handle.fd);
    if (fd < 0) {
      unpark();
      callback(fd, -1, () => {});
      return;
    }

    let adopted = false;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (!adopted) closeDescriptor(fd, family);
      unpark();
    };

    // When the worker disconnects, cluster closes every handle it handed out;
    // node closes the dgram socket that owns it (its 'close' event fires), and
    // so do we, then let the primary know.
    handle.close = (done?: () => void): void => {
      if (!released) {
        const closable = owner as EventEmitter & { close?: () => unknown };
        try {
          closable.close?.();
        } catch {
          // already closed: nothing of ours left open
        }
        release();
      }
      unpark(done);
    };

    const onListening = (): void => { adopted = true; };
    owner.prependOnceListener('listening', onListening);
    try {
      callback(0, fd, release);
    } finally {
      owner.removeListener('listening', onListening);
    }
  });
}
