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
};

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
