'use strict';
// A request/retry protocol tested on udpkit/vnet: a client asks a server for
// 50 values over a link that loses 30% of datagrams, reorders 20% and jitters,
// and retries each request (with backoff) until its reply arrives. The server
// answers retries from a cache, so a duplicated or retried request is answered
// the same way. The run is deterministic: the same seed prints the same trace
// summary and the same trace digest every time; another seed, another run.
//
//   node examples/vnet-request-retry.js [seed=42]
const crypto = require('node:crypto');
const { Network, summarize } = require('udpkit/vnet');

const seed = Number(process.argv[2] ?? 42);
const net = new Network({ seed });
const client = net.host('10.0.0.1');
const server = net.host('10.0.0.2', { name: 'server' });
net.link(client, server, { delay: 20, jitter: 10, loss: 0.3, reorder: 0.2, duplicate: 0.02 });

const trace = [];
net.on('trace', (ev) => trace.push(ev));

// The server: `GET <id>` → `VAL <id> <id squared>`, computed once per id.
const answers = new Map();
const srv = server.createSocket('udp4');
srv.on('message', (msg, rinfo) => {
  const [verb, id] = msg.toString().split(' ');
  if (verb !== 'GET') return;
  if (!answers.has(id)) answers.set(id, `VAL ${id} ${Number(id) ** 2}`);
  srv.send(answers.get(id), rinfo.port, rinfo.address);
});
srv.bind(7000);

// The client: one request at a time, each retried after 100, 200, 400... ms (virtual), 12 tries at most.
const cli = client.createSocket('udp4');
const results = new Map();
let attempts = 0;
cli.on('message', (msg) => {
  const [verb, id, value] = msg.toString().split(' ');
  if (verb === 'VAL' && !results.has(id)) results.set(id, Number(value));
});

function request(id) {
  return new Promise((resolve, reject) => {
    let wait = 100;
    let tries = 0;
    const attempt = () => {
      if (results.has(String(id))) return resolve(results.get(String(id)));
      if (++tries > 12) return reject(new Error(`request ${id}: no reply after 12 tries`));
      attempts++;
      cli.send(`GET ${id}`, 7000, 'server');
      net.clock.setTimeout(attempt, wait);
      wait *= 2;
    };
    attempt();
  });
}

async function main() {
  const done = (async () => {
    for (let id = 1; id <= 50; id++) {
      const value = await request(id);
      if (value !== id * id) throw new Error(`request ${id}: wrong value ${value}`);
    }
  })();
  let finished = false;
  done.then(() => { finished = true; }, () => { finished = true; });
  // Virtual time: a minute of it passes in a blink.
  while (!finished && net.clock.now() < 600000) await net.advance(1000);
  await done;
  const digest = crypto.createHash('sha256').update(JSON.stringify(trace)).digest('hex').slice(0, 16);
  console.log(JSON.stringify({
    seed, requests: 50, attempts, virtualMs: net.clock.now(), summary: summarize(trace), traceDigest: digest,
  }, null, 2));
  console.log('first events:');
  for (const ev of trace.slice(0, 6)) console.log(`  ${ev.time.toFixed(3).padStart(9)} ms  ${ev.kind.padEnd(9)} ${ev.from} -> ${ev.to} ${ev.size} B${ev.reason ? ` (${ev.reason})` : ''}`);
  cli.close();
  srv.close();
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
