'use strict';
// A multi-process UDP server on one port with SO_REUSEPORT: N processes each
// bind their own socket (createSocket({ type: 'udp4', reusePort: true })) to
// the same address and port, and the kernel spreads incoming datagrams over
// them (by a hash of the source address and port). No primary in the data path.
//
//   node examples/reuseport-server.js [port=0] [processes=os.availableParallelism()]
//
// Every process answers a datagram with `<pid>`; the launcher prints one JSON
// line per process once it listens ({ pid, port }) and stops them all on
// SIGINT/SIGTERM. With port 0 the first process picks the port and the others join it.
const dgram = require('udpkit');
const os = require('node:os');
const { fork } = require('node:child_process');

if (process.env.REUSEPORT_WORKER) {
  const socket = dgram.createSocket({ type: 'udp4', reusePort: true });
  socket.on('message', (msg, rinfo) => socket.send(String(process.pid), rinfo.port, rinfo.address));
  socket.on('error', (err) => { console.error(err.message); process.exit(1); });
  socket.bind(Number(process.env.REUSEPORT_WORKER_PORT), '127.0.0.1', () => {
    process.send({ pid: process.pid, port: socket.address().port });
  });
  process.on('disconnect', () => socket.close()); // the launcher went away
} else {
  const port = Number(process.argv[2] || 0);
  const count = Number(process.argv[3] || os.availableParallelism());
  const children = [];
  const start = (p) => {
    const child = fork(__filename, [], { env: { ...process.env, REUSEPORT_WORKER: '1', REUSEPORT_WORKER_PORT: String(p) } });
    children.push(child);
    child.once('message', (info) => {
      console.log(JSON.stringify(info));
      if (children.length < count) start(info.port);
    });
    child.on('exit', (code) => { if (code) process.exitCode = code; });
  };
  start(port);
  const stop = () => { for (const c of children) if (c.connected) c.disconnect(); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
