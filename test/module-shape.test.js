'use strict';
// The module object must have node:dgram's shape: TypeScript's interop
// helpers, test doubles (sinon.stub, plain assignment) and monkey-patches all
// read or write it directly. Compared with the node:dgram of the running Node.
const { test } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ts = require('typescript');
const nodeDgram = require('node:dgram');
const { UDPKIT_PATH } = require('./helpers/impls.js');

const udpkit = require(UDPKIT_PATH);
const REGISTER = path.join(path.dirname(UDPKIT_PATH), 'register.js');

function shape(mod) {
  return Reflect.ownKeys(mod).map((key) => {
    const d = Object.getOwnPropertyDescriptor(mod, key);
    return { key: String(key), data: 'value' in d, type: typeof d.value, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable };
  });
}

test("the module object has node:dgram's own keys, in order, as plain writable data properties", () => {
  assert.deepStrictEqual(shape(udpkit), shape(nodeDgram));
  assert.strictEqual(Object.getPrototypeOf(udpkit), Object.getPrototypeOf(nodeDgram));
  assert.strictEqual(Object.isExtensible(udpkit), Object.isExtensible(nodeDgram));
});

test('no __esModule marker and no default key, as in node:dgram', () => {
  assert.strictEqual('__esModule' in udpkit, '__esModule' in nodeDgram);
  assert.strictEqual('default' in udpkit, 'default' in nodeDgram);
});

test('a stub assigned to createSocket is what callers of the module get (strict mode, no throw)', () => {
  const original = udpkit.createSocket;
  const seen = [];
  try {
    (() => {
      'use strict';
      udpkit.createSocket = (...args) => { seen.push(args[0]); return original(...args); };
    })();
    // A library that calls through the module object, as StatsD clients do.
    const s = require(UDPKIT_PATH).createSocket('udp6');
    s.close();
    assert.deepStrictEqual(seen, ['udp6']);
  } finally {
    udpkit.createSocket = original;
  }
  assert.strictEqual(udpkit.createSocket, original);
});

test('a property can be redefined, as test doubles do (sinon restores with defineProperty)', () => {
  const original = Object.getOwnPropertyDescriptor(udpkit, 'createSocket');
  try {
    Object.defineProperty(udpkit, 'createSocket', { value: () => 'stubbed', writable: true, configurable: true, enumerable: true });
    assert.strictEqual(udpkit.createSocket(), 'stubbed');
  } finally {
    Object.defineProperty(udpkit, 'createSocket', original);
  }
  assert.strictEqual(typeof udpkit.createSocket('udp4').close, 'function');
});

// What `tsc --module commonjs --esModuleInterop` makes of a consumer.
function compile(source) {
  return ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  }).outputText;
}

function runCompiled(source, { preload } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'udpkit-interop-'));
  try {
    const file = path.join(dir, 'consumer.js');
    fs.writeFileSync(file, compile(source).replaceAll('"udpkit"', JSON.stringify(UDPKIT_PATH)));
    const args = preload ? ['-r', preload, file] : [file];
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const CONSUMER = (specifier) => `
import dgram from '${specifier}';
import * as star from '${specifier}';
import { createSocket } from '${specifier}';
const s = dgram.createSocket('udp4');
console.log(JSON.stringify({
  defaultType: typeof dgram,
  createSocket: typeof dgram.createSocket,
  starCreateSocket: typeof star.createSocket,
  named: typeof createSocket,
  udpkit: typeof s.sendMany === 'function',
}));
s.close();
`;

test("TypeScript's esModuleInterop default, namespace and named imports of udpkit", () => {
  assert.deepStrictEqual(runCompiled(CONSUMER('udpkit')), {
    defaultType: 'object', createSocket: 'function', starCreateSocket: 'function', named: 'function', udpkit: true,
  });
});

test("the same TypeScript consumer of 'dgram' under udpkit/register gets udpkit through every import form", () => {
  assert.deepStrictEqual(runCompiled(CONSUMER('dgram'), { preload: REGISTER }), {
    defaultType: 'object', createSocket: 'function', starCreateSocket: 'function', named: 'function', udpkit: true,
  });
});

test("ESM default and named imports, and every named export of node:dgram's ESM face", async () => {
  const ours = await import(path.join(path.dirname(UDPKIT_PATH), 'index.mjs'));
  const theirs = await import('node:dgram');
  assert.strictEqual(ours.default, udpkit);
  for (const name of Object.keys(theirs)) {
    assert.strictEqual(typeof ours[name], typeof theirs[name], name);
  }
});
