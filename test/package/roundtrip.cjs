'use strict';
// CommonJS consumer: require('udpkit') and one datagram to itself on loopback.
const assert = require('node:assert/strict');
const dgram = require('udpkit');
const promises = require('udpkit/promises');

assert.equal(typeof promises.createSocket, 'function');
const socket = dgram.createSocket('udp4');
assert.ok(socket instanceof dgram.Socket);
const payload = Buffer.from(`cjs on node ${process.version}`);
socket.on('message', (msg, rinfo) => {
  assert.deepEqual(msg, payload);
  assert.equal(rinfo.address, '127.0.0.1');
  assert.equal(rinfo.port, socket.address().port);
  socket.close(() => console.log(`cjs: ok (${process.version}, ${msg.length} bytes round trip)`));
});
socket.bind(0, '127.0.0.1', () => socket.send(payload, socket.address().port, '127.0.0.1'));
