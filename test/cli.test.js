'use strict';
// The udpkit command, run as child processes against loopback only.
// Synchronisation is on the processes' output lines, never on sleeps.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');

const BIN = process.env.UDPKIT_DIST
  ? path.join(process.env.UDPKIT_DIST, 'cli', 'main.js')
  : path.resolve(__dirname, '..', 'bin', 'udpkit.js');

// Every child still running when a test ends (e.g. after a failed assertion)
// is killed, so a failure cannot leave the run hanging.
const running = new Set();
test.afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

function start(args, { input } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const out = { stdout: '', stderr: '' };
  const watchers = [];
  const check = () => {
    for (let i = watchers.length - 1; i >= 0; i--) {
      const w = watchers[i];
      const m = out[w.stream].match(w.re);
      if (m) {
        watchers.splice(i, 1);
        w.resolve(m);
      }
    }
  };
  for (const s of ['stdout', 'stderr']) {
    child[s].setEncoding('utf8');
    child[s].on('data', (d) => {
      out[s] += d;
      check();
    });
  }
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...out })));
  if (input !== undefined) child.stdin.end(input);
  return {
    child,
    out,
    exited,
    /** Resolves with the match once `stream` matches `re`; rejects if the process ends first. */
    waitFor(stream, re) {
      const m = out[stream].match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        watchers.push({ stream, re, resolve });
        exited.then((r) => reject(new Error(`exited (${r.code}) before ${stream} matched ${re}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)));
      });
    },
  };
}

function run(args, opts) {
  return start(args, opts).exited;
}

test('--help for the tool and for every command', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const c of ['listen', 'send', 'echo', 'ping', 'bench']) assert.match(top.stdout, new RegExp(`\\b${c}\\b`));
  for (const c of ['listen', 'send', 'echo', 'ping', 'bench']) {
    const r = await run([c, '--help']);
    assert.equal(r.code, 0, `${c} --help`);
    assert.match(r.stdout, new RegExp(`^Usage: udpkit ${c}`));
    assert.equal(r.stderr, '');
  }
  const bench = await run(['bench', '-h']);
  assert.match(bench.stdout, /--quick/);
  assert.match(bench.stdout, /--json FILE/);
});

test('bad arguments: exit code 2 and one line on stderr', async () => {
  const cases = [
    [],
    ['frobnicate'],
    ['listen', '--bogus'],
    ['listen', '--format', 'xml'],
    ['listen', '--port', '70000'],
    ['listen', 'extra'],
    ['send', '127.0.0.1'],
    ['send', '127.0.0.1', 'notaport', 'hi'],
    ['send', '127.0.0.1', '9', 'a', 'b'],
    ['echo', '--port', '-1'],
    ['ping', '127.0.0.1'],
    ['ping', '127.0.0.1', '9', '--count', '0'],
    ['ping', '127.0.0.1', '9', '--size', '2'],
    ['ping', '127.0.0.1', '9', '--count'],
    ['bench', '--fast'],
  ];
  for (const args of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `udpkit ${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.equal(r.stdout, '', `udpkit ${args.join(' ')}: nothing on stdout`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `udpkit ${args.join(' ')}: one line, got ${JSON.stringify(r.stderr)}`);
    assert.match(lines[0], /^udpkit: /);
  }
});

test('listen + send: a message and stdin lines arrive with their sender; Ctrl-C prints the count', async () => {
  const listener = start(['listen', '--port', '0', '--host', '127.0.0.1', '--format', 'json']);
  const [, port] = await listener.waitFor('stderr', /listening on 127\.0\.0\.1:(\d+)/);

  const one = await run(['send', '127.0.0.1', port, 'hello udpkit']);
  assert.equal(one.code, 0, one.stderr);
  await listener.waitFor('stdout', /hello udpkit/);

  const lines = await run(['send', 'localhost', port], { input: 'line one\nline two\n' });
  assert.equal(lines.code, 0, lines.stderr);
  await listener.waitFor('stdout', /line two/);

  const got = listener.out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(got.map((d) => d.text), ['hello udpkit', 'line one', 'line two']);
  for (const d of got) {
    assert.equal(d.address, '127.0.0.1');
    assert.equal(d.family, 'IPv4');
    assert.ok(d.port > 0);
    assert.equal(d.size, Buffer.byteLength(d.text));
  }
  listener.child.kill('SIGINT');
  const r = await listener.exited;
  assert.equal(r.code, 0);
  assert.match(r.stderr, /received 3 datagrams/);
});

test('listen --format text and hex', async () => {
  for (const [format, re] of [
    ['text', /^127\.0\.0\.1:\d+ 5 B a\\x01b\\x0ac$/m],
    ['hex', /^127\.0\.0\.1:\d+ 5 B 6101620a63$/m],
  ]) {
    const listener = start(['listen', '--format', format]);
    const [, port] = await listener.waitFor('stderr', /listening on 127\.0\.0\.1:(\d+)/);
    assert.equal((await run(['send', '127.0.0.1', port, 'a\x01b\nc'])).code, 0);
    await listener.waitFor('stdout', re);
    listener.child.kill('SIGINT');
    assert.equal((await listener.exited).code, 0);
  }
});

test('echo + ping --count 5: statistics with no loss', async () => {
  const echo = start(['echo', '--port', '0']);
  const [, port] = await echo.waitFor('stdout', /listening on 127\.0\.0\.1:(\d+)/);
  const r = await run(['ping', '127.0.0.1', port, '--count', '5', '--interval', '0', '--size', '100']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/^100 bytes from 127\.0\.0\.1:\d+: seq=\d+ time=[\d.]+ ms$/gm).length, 5);
  assert.match(r.stdout, /^5 sent, 5 received, 0\.0% loss$/m);
  assert.match(r.stdout, /^rtt min\/avg\/p50\/p99\/max = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  echo.child.kill('SIGINT');
  const e = await echo.exited;
  assert.equal(e.code, 0);
  assert.match(e.stderr, /echoed 5 datagrams/);
});

test('ping without --count: Ctrl-C prints the statistics so far', async () => {
  const echo = start(['echo']);
  const [, port] = await echo.waitFor('stdout', /listening on 127\.0\.0\.1:(\d+)/);
  const ping = start(['ping', '127.0.0.1', port, '--interval', '10']);
  await ping.waitFor('stdout', /seq=2 /);
  ping.child.kill('SIGINT');
  const r = await ping.exited;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /ping statistics/);
  assert.match(r.stdout, /^\d+ sent, \d+ received, [\d.]+% loss$/m);
  echo.child.kill('SIGINT');
  await echo.exited;
});
