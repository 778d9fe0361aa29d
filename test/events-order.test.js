'use strict';
// Event order differential: record the sequence of events and callbacks for a
// few scenarios on node:dgram and on udpkit and require them to be equal.
// (Always both, like the differential tables; UDPKIT_DIFF_AGAINST=node checks node against itself.)
const test = require('node:test');
const assert = require('node:assert/strict');
const nodeDgram = require('node:dgram');
const { loadImpl } = require('./helpers/impls.js');
const { FAMILIES, LOOPBACK, withTimeout, boundSocket, closeAll } = require('./helpers/util.js');

const other = () => (process.env.UDPKIT_DIFF_AGAINST === 'node' ? nodeDgram : loadImpl('udpkit'));

function recorder(s, log, name) {
  for (const ev of ['listening', 'connect', 'message', 'close', 'error']) {
    s.on(ev, (a) => log.push(ev === 'message' ? `${name}:message:${a}` : ev === 'error' ? `${name}:error:${a.code}` : `${name}:${ev}`));
  }
}

const scenarios = {
  // bind, send to self, receive, close
  async bindSendClose(dgram, type, log) {
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => {
      s.bind(0, LOOPBACK[type], () => {
        log.push('bind-cb');
        s.once('message', () => { log.push('got'); s.close(() => { log.push('close-cb'); done(); }); });
        s.send('hi', s.address().port, LOOPBACK[type], (e, n) => log.push(`send-cb:${e}:${n}`));
      });
      log.push('after-bind-call');
    });
  },
  // implicit bind through queued sends, then close inside the last callback
  async queuedSends(dgram, type, log) {
    const rx = await boundSocket(nodeDgram, type);
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => {
      for (let i = 0; i < 3; i++) {
        s.send(`q${i}`, rx.address().port, LOOPBACK[type], (e) => {
          log.push(`send-cb-${i}:${e}`);
          if (i === 2) s.close(done);
        });
      }
      log.push('after-sends');
    });
    await closeAll([rx]);
  },
  // connect, send, disconnect, close
  async connect(dgram, type, log) {
    const peer = await boundSocket(nodeDgram, type);
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => {
      s.connect(peer.address().port, LOOPBACK[type], () => {
        log.push('connect-cb');
        s.send('c', (e, n) => {
          log.push(`send-cb:${e}:${n}`);
          s.disconnect();
          log.push('disconnected');
          s.close(() => { log.push('close-cb'); done(); });
        });
      });
    });
    await closeAll([peer]);
  },
  // EADDRINUSE then close
  async bindError(dgram, type, log) {
    const holder = await boundSocket(nodeDgram, type);
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => {
      s.once('error', () => { log.push('handling-error'); s.close(() => { log.push('close-cb'); done(); }); });
      s.bind(holder.address().port, LOOPBACK[type], () => log.push('bind-cb'));
    });
    await closeAll([holder]);
  },
  // close right after bind() call, and close during connect
  async closeWhileBinding(dgram, type, log) {
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => {
      s.bind(0, LOOPBACK[type], () => log.push('bind-cb'));
      s.close(() => { log.push('close-cb'); done(); });
    });
    const c = dgram.createSocket(type);
    recorder(c, log, 'c');
    await new Promise((done) => {
      c.connect(9, LOOPBACK[type], (e) => log.push(`connect-cb:${e}`));
      c.close(() => { log.push('c-close-cb'); done(); });
    });
  },
  // abort signal after bind
  async abort(dgram, type, log) {
    const ac = new AbortController();
    const s = dgram.createSocket({ type, signal: ac.signal });
    recorder(s, log, 's');
    await new Promise((done) => {
      s.bind(0, LOOPBACK[type], () => { log.push('bind-cb'); ac.abort(); log.push('aborted'); });
      s.on('close', done);
    });
  },
  // ECONNREFUSED on a connected socket
  async refused(dgram, type, log) {
    const dead = await boundSocket(nodeDgram, type);
    const port = dead.address().port;
    await closeAll([dead]);
    const s = dgram.createSocket(type);
    recorder(s, log, 's');
    await new Promise((done) => s.connect(port, LOOPBACK[type], done));
    await new Promise((done) => s.send('1', (e) => { log.push(`cb1:${e && e.code}`); done(); }));
    await new Promise((done) => s.send('2', (e) => { log.push(`cb2:${e && e.code}`); done(); }));
    await new Promise((done) => s.close(done));
  },
  // A bind retried from 'error' (EADDRINUSE) leaves no listener behind; sends queued behind a
  // failed bind are dropped with no callback; with a bind callback, a failed bind does not throw.
  async bindRetried(dgram, type, log) {
    const holder = await boundSocket(nodeDgram, type);
    const sink = await arrivals(type, log);
    const s = dgram.createSocket(type);
    const counts = () => `L${s.listenerCount('listening')}E${s.listenerCount('error')}`;
    let tries = 0;
    const attempt = () => {
      const n = tries;
      if (n % 2 === 0) s.bind(holder.address().port, LOOPBACK[type], () => log.push(`bind-cb${n}`));
      else s.bind(holder.address().port, LOOPBACK[type]);
      s.send(`q${n}`, sink.port, LOOPBACK[type], (e) => log.push(`send-cb${n}:${e && e.code}`));
      log.push(`after-bind${n} ${counts()}`);
    };
    await new Promise((done) => {
      s.on('error', (e) => {
        log.push(`error${tries}:${e.code} ${counts()}`);
        if (++tries < 4) attempt();
        else setImmediate(() => { log.push(`end ${counts()}`); done(); });
      });
      attempt();
    });
    s.removeAllListeners('error');
    if (!require('../dist/node-line.js').bindFailureDropsCallback) {
      // Up to 24.20 and 26.7, with a callback and no 'error' listener of the user's, a failed
      // bind is not thrown (the callback's own 'error' listener takes it); later it is.
      s.bind(holder.address().port, LOOPBACK[type], () => log.push('bound anyway'));
      log.push(`no user listener ${counts()}`);
    }
    await sink.settle();
    log.push(`after ${counts()}`);
    s.close();
    await closeAll([holder]);
    await sink.close();
  },
  // close() overtaking sends: node:dgram drops what is still resolving or queued behind the bind
  // (no callback, nothing sent) and sends what went to a connected peer.
  async closeOvertakesSends(dgram, type, log) {
    const sink = await arrivals(type, log);
    const cb = (name) => (e, n) => log.push(`${name}-cb:${e && e.code}:${n}`);
    const closed = (socket, name) => new Promise((done) => socket.close(() => { log.push(`${name}-closed`); done(); }));
    const unbound = dgram.createSocket(type);
    unbound.send('unbound', sink.port, LOOPBACK[type], cb('unbound'));
    await closed(unbound, 'unbound');
    const binding = dgram.createSocket(type);
    binding.bind(0, LOOPBACK[type]);
    binding.send('binding', sink.port, LOOPBACK[type], cb('binding'));
    await closed(binding, 'binding');
    const bound = await boundSocket(dgram, type);
    bound.send('literal', sink.port, LOOPBACK[type], cb('literal'));
    // (this machine's 'localhost' has no IPv6 address)
    bound.send('name', sink.port, type === 'udp4' ? 'localhost' : LOOPBACK[type], cb('name'));
    await closed(bound, 'bound');
    const connected = dgram.createSocket(type);
    await new Promise((done) => connected.connect(sink.port, LOOPBACK[type], done));
    connected.send('connected', cb('connected'));
    await closed(connected, 'connected');
    await sink.settle();
    await sink.close();
  },
  // The implicit bind fails on address lookup: queued sends get no callback, only 'error'.
  async implicitBindLookupFails(dgram, type, log) {
    const sink = await arrivals(type, log);
    const lookup = (host, opts, callback) => process.nextTick(callback, Object.assign(new Error(`no ${host}`), { code: 'ENOTFOUND' }));
    const s = dgram.createSocket({ type, lookup });
    await new Promise((done) => {
      s.on('error', (e) => { log.push(`error:${e.message} L${s.listenerCount('listening')}`); setImmediate(done); });
      s.send('a', sink.port, LOOPBACK[type], (e) => log.push(`a-cb:${e && e.message}`));
      s.send('b', sink.port, LOOPBACK[type], (e) => log.push(`b-cb:${e && e.message}`));
      log.push('sent');
    });
    await sink.settle();
    log.push('settled');
    await sink.close();
    s.close();
  },
};

/**
 * A node:dgram socket that logs what arrives; settle() resolves once a marker
 * sent after everything else has arrived (loopback delivers in order, so
 * whatever else was sent before it is in by then).
 */
async function arrivals(type, log) {
  const sink = await boundSocket(nodeDgram, type);
  const marker = await boundSocket(nodeDgram, type);
  let waiting = null;
  sink.on('message', (m) => {
    if (String(m) === 'marker') waiting?.();
    else log.push(`arrived:${m}`);
  });
  const port = sink.address().port;
  return {
    port,
    settle: () => new Promise((done) => {
      waiting = () => { waiting = null; done(); };
      marker.send('marker', port, LOOPBACK[type]);
    }),
    close: () => closeAll([sink, marker]),
  };
}

for (const type of FAMILIES) {
  for (const [name, run] of Object.entries(scenarios)) {
    test(`${type}: event order matches node:dgram: ${name}`, async () => {
      const expected = [];
      await withTimeout(run(nodeDgram, type, expected), `node:dgram ${name}`);
      const actual = [];
      await withTimeout(run(other(), type, actual), `implementation ${name}`);
      assert.deepEqual(actual, expected);
      assert.ok(expected.length >= 3, 'the scenario recorded something');
    });
  }
}
