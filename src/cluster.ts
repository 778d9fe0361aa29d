// Cluster sharing for non-exclusive binds in workers (placeholder until the
// shared-handle protocol lands): every worker binds its own socket with
// SO_REUSEADDR, so a second worker binding the port does not fail.
import type { EventEmitter } from 'node:events';

export interface SharedBindRequest {
  address: string;
  port: number;
  addressType: 4 | 6;
  flags: number;
}

export function acquireShared(
  _owner: EventEmitter,
  _request: SharedBindRequest,
  callback: (errno: number, fd: number, release: () => void) => void,
): void {
  process.nextTick(callback, -38 /* ENOSYS */, -1, () => {});
}
