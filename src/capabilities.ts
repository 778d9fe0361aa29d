// `udpkit/capabilities`: which of the QUIC-grade datapath features (issue 12)
// the running platform has. A separate entry point, not a key of the main
// module, because `udpkit` itself must keep node:dgram's exact module shape.
import { nativePlatform } from './datapath/native';

export interface Capabilities {
  /** UDP segmentation offload: `segmentSize` leaves as one send (else it is split in software). */
  gso: boolean;
  /** Receive coalescing: the kernel hands over runs of datagrams, split again in the datapath. */
  gro: boolean;
  /** `recvPacketInfo` (rinfo.destination, rinfo.interfaceIndex) and sendMany's `source`. */
  packetInfo: boolean;
  /** `recvEcn` (rinfo.ecn), sendMany's `ecn`, setTOS/getTOS. */
  ecn: boolean;
  /** `recvTimestamps` (rinfo.timestamp). */
  timestamps: boolean;
  /** `recvErrors` and the 'icmp' event. */
  recvErrors: boolean;
  /** setDontFragment and getPathMTU. */
  dontFragment: boolean;
  /** Batched system calls (recvmmsg/sendmmsg). */
  mmsg: boolean;
}

let probed: Capabilities | undefined;

/** What the platform supports, probed once per process; a fresh copy each call. */
export function capabilities(): Capabilities {
  if (probed === undefined) {
    const { gso, gro, packetInfo, ecn, timestamps, recvErrors, dontFragment, mmsg } = nativePlatform();
    probed = { gso, gro, packetInfo, ecn, timestamps, recvErrors, dontFragment, mmsg };
  }
  return { ...probed };
}
