// udpkit: node:dgram's public surface, exactly, on udpkit's own datapath.
//
// The module object has node:dgram's shape, because code and tools depend on
// it: the same own keys, in the same order, as plain writable, enumerable,
// configurable data properties (so `dgram.createSocket = stub`, sinon.stub and
// other test doubles work), and no `__esModule` marker (so TypeScript's
// `esModuleInterop` default import, `__importDefault(require('udpkit'))`, wraps
// it as it wraps node:dgram and `.default` is the module itself). Hence
// `export =` of a plain object, with the types in a namespace of the same name.
import { Socket, createSocket, _createSocketHandle } from './socket';
import type * as socket from './socket';
import type * as lookup from './lookup';
import { legacyMembersRemoved } from './node-line';
import type * as features from './features';
import type * as capabilities from './capabilities';

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace udpkit {
  type Socket = socket.Socket;
  type SocketType = socket.SocketType;
  type SocketOptions = socket.SocketOptions;
  type BindOptions = socket.BindOptions;
  type RemoteInfo = socket.RemoteInfo;
  type AddressInfo = socket.AddressInfo;
  type Datagram = socket.Datagram;
  type OutgoingDatagram = socket.OutgoingDatagram;
  type SendCallback = socket.SendCallback;
  type LookupFunction = lookup.LookupFunction;
  // The QUIC-grade extras (features.ts, capabilities.ts).
  type PacketInfo = features.PacketInfo;
  type IcmpEvent = features.IcmpEvent;
  type DatagramOptions = features.DatagramOptions;
  type ReceiveFeatureOptions = features.ReceiveFeatureOptions;
  type Capabilities = capabilities.Capabilities;
}

interface Dgram {
  /** node:dgram's deprecated handle factory; absent from Node 25 on, as from node:dgram there. */
  _createSocketHandle: typeof _createSocketHandle;
  createSocket: typeof createSocket;
  Socket: typeof Socket;
}

const udpkit = (legacyMembersRemoved
  ? { createSocket, Socket }
  : { _createSocketHandle, createSocket, Socket }) as Dgram;

export = udpkit;

