'use strict';
// Runs a helper script inside a network namespace (ip netns exec NS node
// SCRIPT) with ROLE and ARGS in its environment, and collects the JSON lines
// it prints; `ready` resolves once it prints READY (or exits). Shared by the
// netns-*.test.js files.
const { spawn } = require('node:child_process');

function runIn(script, ns, role, args, env) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script], {
    env: { ...process.env, ...env, ROLE: role, ARGS: JSON.stringify(args) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady;
  const ready = new Promise((r) => { onReady = r; });
  child.stdout.on('data', (d) => { out += d; if (out.includes('READY\n')) onReady(); });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      onReady();
      const lines = out.split('\n').filter((l) => l && l !== 'READY').map((l) => JSON.parse(l));
      resolve({ code, signal, lines, err });
    });
  });
  return { ready, exited };
}

module.exports = { runIn };
