// udpkit/vnet: a deterministic virtual network whose hosts make udpkit Sockets.
// See docs/vnet.md.
export { Network } from './vnet/network';
export type { NetworkOptions, HostOptions, NatOptions } from './vnet/network';
export { Host } from './vnet/host';
export { Link } from './vnet/link';
export type { LinkOptions } from './vnet/link';
export { Nat } from './vnet/nat';
export type { NatBehaviour } from './vnet/nat';
export { Clock, VirtualTimer } from './vnet/clock';
export { Capture } from './vnet/pcap';
export { summarize } from './vnet/trace';
export type { TraceEvent, TraceKind, TraceSummary } from './vnet/trace';
