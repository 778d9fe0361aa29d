'use strict';
// Fuzzes the native seam (the addon's Socket, through dist/datapath/native.js)
// with arbitrary JS values: wrong types, detached ArrayBuffers, huge lengths,
// negative counts, closed handles, Proxies, getters that throw. Every call
// must either return (a number, an Endpoint object, undefined) or throw a JS
// exception. Runs in a child process so that a crash fails the test with the
// signal instead of killing the runner. Loopback only: addresses are loopback
// or unroutable strings that never reach a send (ports: a closed local port).
// `node test/fuzz/native-seam.test.js --child <runs> <seed>` is the child.
const path = require('node:path');
const fc = require('fast-check');

function child(runs, seed) {
  const { nativeDatapath } = require(path.resolve(__dirname, '../../dist/datapath/native.js'));
  const detached = () => { const ab = new ArrayBuffer(16); structuredClone(ab, { transfer: [ab] }); return ab; };
  const detachedView = () => { const ab = new ArrayBuffer(16); const v = new Uint8Array(ab); structuredClone(ab, { transfer: [ab] }); return v; };
  const thrower = () => new Proxy({}, { get() { throw new Error('trap'); }, has() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } });
  const getterThrows = () => Object.defineProperty({}, 'length', { get() { throw new Error('getter'); } });
  const val = fc.oneof(
    fc.constantFrom(0, -1, 1, 4, 6, 7, NaN, -0, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, 1e308, 65535, 65536, 1024, 1025, 0.5),
    fc.integer(), fc.double(),
    fc.constantFrom('127.0.0.1', '::1', '0.0.0.0', '::', '', 'x'.repeat(300), 'not-an-ip', '127.0.0.1%lo', '::1%lo', '\u0000', '999.1.1.1'),
    fc.string({ maxLength: 20 }).filter((s) => !/^(22[4-9]|23\d)\.|^ff/i.test(s)),
    fc.constantFrom(null, undefined, true, false, 1n, Symbol('s')),
    fc.constantFrom('u8', 'u8big', 'i32', 'i32neg', 'f64', 'dv', 'ab', 'detached', 'detachedView', 'arr', 'arrU8', 'arrArr', 'sparse', 'proxy', 'getter', 'obj', 'fn', 'sink', 'sinkThrows', 'hugeLenArr').map((k) => ({ k })),
  );
  const build = (v) => {
    if (!v || typeof v !== 'object' || !('k' in v)) return v;
    switch (v.k) {
      case 'u8': return new Uint8Array([1, 2, 3]);
      case 'u8big': return new Uint8Array(70000);
      case 'i32': return new Int32Array([1, 2, 3, 4]);
      case 'i32neg': return new Int32Array([-1, -65536, 2 ** 31 - 1]);
      case 'f64': return new Float64Array([1.5]);
      case 'dv': return new DataView(new ArrayBuffer(8), 2, 3);
      case 'ab': return new ArrayBuffer(8);
      case 'detached': return detached();
      case 'detachedView': return detachedView();
      case 'arr': return [];
      case 'arrU8': return [new Uint8Array(4), new Uint8Array(0), Buffer.from('x')];
      case 'arrArr': return [[new Uint8Array(2), detachedView()], [1, 2], 'str', null];
      case 'sparse': { const a = []; a[5] = new Uint8Array(1); return a; }
      case 'proxy': return thrower();
      case 'getter': return getterThrows();
      case 'obj': return { length: 2 ** 40 };
      case 'fn': return () => {};
      case 'sink': return { onBatch() {}, onRecvError() {}, onWritable() {} };
      case 'sinkThrows': return { onBatch() { throw new Error('x'); }, onRecvError() { throw new Error('x'); }, onWritable() { throw new Error('x'); } };
      case 'hugeLenArr': return new Proxy([], { get(t, p) { return p === 'length' ? 2 ** 32 - 1 : undefined; } });
    }
    return v;
  };
  const METHODS = ['bind', 'open', 'connect', 'disconnect', 'localAddress', 'remoteAddress', 'fd', 'setOption', 'getOption',
    'setMulticastInterface', 'setMembership', 'setSourceMembership', 'send', 'waitWritable', 'droppedCount',
    'startReceiving', 'stopReceiving', 'ref', 'unref', 'close'];
  let calls = 0; let threw = 0; let returned = 0;
  const stats = {};
  const opArb = fc.record({ m: fc.constantFrom(...METHODS), args: fc.array(val, { maxLength: 5 }), useReal: fc.boolean() });
  fc.assert(fc.property(fc.constantFrom(4, 6), fc.array(opArb, { minLength: 1, maxLength: 12 }), (family, ops) => {
    const s = nativeDatapath.createSocket(family);
    for (const op of ops) {
      let args = op.args.map(build);
      // Half the time, make the call plausible enough to reach deeper code.
      if (op.useReal) {
        const loop = family === 4 ? '127.0.0.1' : '::1';
        if (op.m === 'bind') args = [loop, 0, args[0] ?? 0];
        if (op.m === 'connect') args = [loop, 9, ...args];
        if (op.m === 'send') args = [args[0] ?? [new Uint8Array(3)], args[1] ?? 1, new Int32Array([9]), [loop]];
      }
      // Never a destination off this machine: any string address becomes loopback.
      const lo = family === 4 ? '127.0.0.1' : '::1';
      if (op.m === 'connect' && typeof args[0] === 'string' && require('node:net').isIP(args[0].split('%')[0])) args[0] = lo;
      if (op.m === 'send' && Array.isArray(args[3]) && !require('node:util').types.isProxy(args[3])) args[3] = args[3].map((a) => (typeof a === 'string' ? lo : a));
      if (op.m === 'send' && typeof args[3] === 'string') args[3] = family === 4 ? '127.0.0.1' : '::1';
      calls++;
      let r;
      try { r = s[op.m](...args); returned++; } catch (e) { threw++; stats[`${op.m}: ${e && e.constructor && e.constructor.name}`] = 1; continue; }
      const ok = r === undefined || typeof r === 'number' || (r && typeof r === 'object' && typeof r.port === 'number');
      if (!ok) throw new Error(`${op.m} returned ${typeof r}: ${String(r)}`);
    }
    s.close();
    s.close();
    return true;
  }), { numRuns: runs, seed });
  // Let any queued callback (onWritable, a receive batch, finalizers) run.
  global.gc?.();
  setImmediate(() => setImmediate(() => {
    console.log(JSON.stringify({ suite: 'native-seam', seed, runs, calls, returned, threw, throwKinds: Object.keys(stats).length }));
  }));
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), Number(process.argv[4]));
} else {
  const test = require('node:test');
  const assert = require('node:assert/strict');
  const { spawnSync } = require('node:child_process');
  test('native seam: arbitrary values only ever throw JS exceptions or return numbers/endpoints (child process, 1500 op sequences)', (t) => {
    const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', '1500', String(0x5eed)], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr.slice(-4000)}`);
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    t.diagnostic(JSON.stringify(out));
    assert.ok(out.calls > 1500);
  });
}
