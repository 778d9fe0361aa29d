// TypeScript consumer, compiled with esModuleInterop and strict type-checking
// against udpkit's .d.ts (skipLibCheck off): the way most TS users import it.
import dgram from 'udpkit';
import { createSocket, Socket, type RemoteInfo } from 'udpkit';
import * as assert from 'node:assert/strict';

const socket: Socket = dgram.createSocket({ type: 'udp4' });
assert.equal(dgram.createSocket, createSocket);
const payload = Buffer.from(`ts on node ${process.version}`);
socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
  assert.deepEqual(msg, payload);
  assert.equal(rinfo.family, 'IPv4');
  socket.close(() => console.log(`ts: ok (${process.version})`));
});
socket.bind(0, '127.0.0.1', () => {
  const { port } = socket.address();
  socket.send(payload, port, '127.0.0.1');
});
