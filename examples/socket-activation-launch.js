'use strict';
// A stand-in for systemd's socket activation (cf. `systemd-socket-activate -d`):
// bind the socket here, then start the service with it as descriptor 3 and
// LISTEN_FDS=1, LISTEN_PID=<the service's pid> (set by `sh` right before exec,
// since the pid is only known once the process exists).
const dgram = require('udpkit');
const { spawn } = require('node:child_process');
const path = require('node:path');

const port = Number(process.argv[2] || 0);
const socket = dgram.createSocket('udp4');
socket.bind(port, '127.0.0.1', () => {
  // The descriptor, through the legacy getter as in node:dgram; Node 25 removed it.
  if (socket._handle === undefined) throw new Error('this Node has no Socket#_handle to pass a descriptor on (Node 25 removed it)');
  const fd = socket._handle.fd;
  const service = path.join(__dirname, 'socket-activation.js');
  const child = spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$1"', process.execPath, service], {
    stdio: ['inherit', 'inherit', 'inherit', fd],
  });
  // The service owns its copy now; ours must not read its datagrams.
  socket.close();
  child.on('exit', (code) => { process.exitCode = code ?? 1; });
});
