'use strict';
// A UDP echo service that accepts systemd-style socket activation:
// LISTEN_PID=<this pid>, LISTEN_FDS=1 and the socket on descriptor 3 (SD_LISTEN_FDS_START).
// Without activation it binds UDP_PORT (default 0) on 127.0.0.1 itself.
//
//   node examples/socket-activation-launch.js      # a tiny stand-in for systemd
//   # or, with systemd: a .socket unit with ListenDatagram=127.0.0.1:5300 and
//   # a .service unit with ExecStart=/usr/bin/node /path/to/socket-activation.js
const dgram = require('udpkit');

const SD_LISTEN_FDS_START = 3;
const activated = process.env.LISTEN_PID === String(process.pid) && Number(process.env.LISTEN_FDS) >= 1;
// Do not pass the variables on to our own children.
delete process.env.LISTEN_PID;
delete process.env.LISTEN_FDS;
delete process.env.LISTEN_FDNAMES;

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  // Close once the reply has left: a close() in the same tick would drop it, as in node:dgram.
  const quit = msg.toString() === 'quit';
  socket.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address, () => quit && socket.close());
});
socket.on('listening', () => {
  const { address, port } = socket.address();
  console.log(JSON.stringify({ activated, address, port }));
});

if (activated) socket.bind({ fd: SD_LISTEN_FDS_START });
else socket.bind(Number(process.env.UDP_PORT || 0), '127.0.0.1');
