// udpkit: node:dgram's public surface, exactly, on udpkit's own datapath.
import { Socket, createSocket, _createSocketHandle } from './socket';

export { _createSocketHandle, createSocket, Socket };
export type {
  SocketType, SocketOptions, BindOptions, RemoteInfo, AddressInfo, Datagram, OutgoingDatagram, SendCallback,
} from './socket';
export type { LookupFunction } from './lookup';
export type { IcmpEvent, PacketInfo, DatagramOptions, ReceiveFeatureOptions } from './features';
export type { Capabilities } from './capabilities';
