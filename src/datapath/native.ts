// The native datapath: the addon's Socket class already has exactly the
// seam's shape, so this file only gives the addon types (addon.ts finds it).
import type { Capabilities } from '../capabilities';
import { loadAddon } from './addon';
import type { Datapath, DatapathSocket, Family } from './types';

/** What the platform layer found when it probed the kernel (Capabilities: what capabilities() reports). */
export interface PlatformInfo extends Capabilities {
  recvmmsg: boolean;
  sendmmsg: boolean;
  dropCounter: boolean;
  /** UDP GSO for same-size runs on send, with GRO splitting on receive (off with UDPKIT_OFFLOAD=0). */
  segmentationOffload: boolean;
  /** A pollable timer for receive coalescing (Linux: timerfd); without one, sockets never coalesce. */
  receiveCoalescing: boolean;
}

interface NativeBinding {
  Socket: new (family: Family) => DatapathSocket;
  getRecvBatchSize(): number;
  /** Throws a RangeError outside 1..1024. Applies to sockets created afterwards. */
  setRecvBatchSize(size: number): void;
  platform(): PlatformInfo;
}

const binding = loadAddon() as NativeBinding;

export const nativeDatapath: Datapath = {
  createSocket(family: Family): DatapathSocket {
    return new binding.Socket(family);
  },
  get recvBatchSize(): number {
    return binding.getRecvBatchSize();
  },
  set recvBatchSize(size: number) {
    binding.setRecvBatchSize(size);
  },
};

/** What the platform layer found when it probed the kernel (diagnostics). */
export function nativePlatform(): PlatformInfo {
  return binding.platform();
}
