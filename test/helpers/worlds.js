'use strict';
// The same behaviour cases on three worlds: node:dgram and udpkit over real
// loopback sockets, and udpkit over udpkit/vnet (two hosts, A and B). A case
// gets a world `w` and returns a plain result; results must be equal across
// worlds. Addresses in results go through w.name(), which maps each world's
// own addresses to roles, so a loopback run and a two-host run compare.
const path = require('node:path');
const nodeDgram = require('node:dgram');
const { loadImpl } = require('./impls.js');
const { withTimeout } = require('./util.js');

const VNET_PATH = path.resolve(__dirname, '..', '..', 'dist', 'vnet.js');

function realWorld(label, dgram) {
  const addr = { udp4: '127.0.0.1', udp6: '::1' };
  return {
    label,
    virtual: false,
    addr: { A: addr, B: addr },
    createSocket: (_host, opts, listener) => dgram.createSocket(opts, listener),
    until: (promise, what = 'the case') => withTimeout(promise, what),
    name(address) {
      if (address === '127.0.0.1') return 'ip4';
      if (address === '::1') return 'ip6';
      if (address === '::ffff:127.0.0.1') return 'mapped4';
      return address;
    },
    close() {},
  };
}

function vnetWorld() {
  const { Network } = require(VNET_PATH);
  const net = new Network({ seed: 7 });
  const hosts = {
    A: net.host(['10.0.0.1', 'fd00::1']),
    B: net.host(['10.0.0.2', 'fd00::2']),
  };
  return {
    label: 'udpkit over vnet',
    virtual: true,
    net,
    addr: { A: { udp4: '10.0.0.1', udp6: 'fd00::1' }, B: { udp4: '10.0.0.2', udp6: 'fd00::2' } },
    createSocket: (host, opts, listener) => hosts[host].createSocket(opts, listener),
    // Virtual time moves only when asked: advance it until the case's promise settles.
    async until(promise, what = 'the case') {
      let settled = false;
      let value;
      let error;
      let failed = false;
      promise.then((v) => { settled = true; value = v; }, (e) => { settled = true; failed = true; error = e; });
      for (let i = 0; i < 2000; i++) {
        // The code under test first runs as far as it can without time passing.
        await new Promise(setImmediate);
        if (settled) break;
        await net.advance(1);
      }
      if (!settled) throw new Error(`vnet: ${what} did not settle within 2000 virtual ms`);
      if (failed) throw error;
      return value;
    },
    name(address) {
      if (address === '10.0.0.1' || address === '10.0.0.2') return 'ip4';
      if (address === 'fd00::1' || address === 'fd00::2') return 'ip6';
      if (address === '::ffff:10.0.0.1' || address === '::ffff:10.0.0.2') return 'mapped4';
      return address;
    },
    close() { net.close(); },
  };
}

function worlds() {
  return [
    () => realWorld('node:dgram', nodeDgram),
    () => realWorld('udpkit', loadImpl('udpkit')),
    vnetWorld,
  ];
}

module.exports = { worlds, VNET_PATH };
