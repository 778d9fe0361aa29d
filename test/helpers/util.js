'use strict';
// Small shared helpers for the behaviour tests. Timeouts here are safety nets
// only: they reject (fail the test); nothing waits on time for synchronisation.

const FAMILIES = ['udp4', 'udp6'];
const LOOPBACK = { udp4: '127.0.0.1', udp6: '::1' };
const ANY = { udp4: '0.0.0.0', udp6: '::' };
const FAMILY_NAME = { udp4: 'IPv4', udp6: 'IPv6' };
const SAFETY_MS = 5000;

function withTimeout(promise, label, ms = SAFETY_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Resolves with the listener arguments of the next `event`; rejects on 'error'
// (unless event is 'error') or on the safety timeout.
function nextEvent(emitter, event, ms = SAFETY_MS) {
  return withTimeout(new Promise((resolve, reject) => {
    const onEvent = (...args) => { cleanup(); resolve(args); };
    const onError = (err) => { cleanup(); reject(err); };
    function cleanup() {
      emitter.removeListener(event, onEvent);
      if (event !== 'error') emitter.removeListener('error', onError);
    }
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  }), `'${event}' event`, ms);
}

// Collects `n` 'message' events as [{msg, rinfo}].
function collectMessages(socket, n, ms = SAFETY_MS) {
  const got = [];
  return withTimeout(new Promise((resolve, reject) => {
    if (n === 0) return resolve(got);
    const onMsg = (msg, rinfo) => {
      got.push({ msg, rinfo });
      if (got.length === n) { cleanup(); resolve(got); }
    };
    const onError = (err) => { cleanup(); reject(err); };
    function cleanup() { socket.removeListener('message', onMsg); socket.removeListener('error', onError); }
    socket.on('message', onMsg);
    socket.on('error', onError);
  }), `${n} messages (got ${got.length})`, ms);
}

// Creates a socket and binds it (default: loopback, random port).
async function boundSocket(dgram, type, { address = LOOPBACK[type], port = 0, options = {} } = {}) {
  const s = dgram.createSocket({ type, ...options });
  const listening = nextEvent(s, 'listening');
  s.bind(port, address);
  await listening;
  return s;
}

function closeSocket(s) {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

async function closeAll(sockets) {
  await withTimeout(Promise.all(sockets.map(closeSocket)), 'sockets to close');
}

// Plain copy of the properties of an error that the tests compare.
function errorFields(err) {
  if (!(err instanceof Error)) return { notAnError: err };
  const out = { ctor: err.constructor && err.constructor.name, name: err.name, message: err.message };
  for (const k of ['code', 'errno', 'syscall', 'address', 'port', 'info']) {
    if (k in err) out[k] = err[k];
  }
  return out;
}

module.exports = {
  FAMILIES, LOOPBACK, ANY, FAMILY_NAME, SAFETY_MS,
  withTimeout, nextEvent, collectMessages, boundSocket, closeSocket, closeAll, errorFields,
};
