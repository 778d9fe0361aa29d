// ESM consumer: default and named imports, the promises entry, one datagram on loopback.
import assert from 'node:assert/strict';
import dgram, { createSocket, Socket } from 'udpkit';
import { createSocket as createPromiseSocket } from 'udpkit/promises';

assert.equal(dgram.createSocket, createSocket);
assert.equal(dgram.Socket, Socket);
const socket = await createPromiseSocket({ type: 'udp4' });
assert.equal(typeof socket.send, 'function');
await socket.close();

const s = createSocket('udp4');
const payload = Buffer.from(`esm on node ${process.version}`);
const received = new Promise((resolve) => s.once('message', (msg) => resolve(msg)));
s.bind(0, '127.0.0.1', () => s.send(payload, s.address().port, '127.0.0.1'));
assert.deepEqual(await received, payload);
s.close(() => console.log(`esm: ok (${process.version})`));
