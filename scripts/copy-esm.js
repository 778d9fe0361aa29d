'use strict';
// The package is compiled to CommonJS so that require() and import share one
// module instance (no dual-package hazard); these thin .mjs files give import
// users named exports on top of it.
const fs = require('node:fs');
const path = require('node:path');

const entries = [
  { cjs: 'index.js', mjs: 'index.mjs', names: ['_createSocketHandle', 'createSocket', 'Socket'] },
  { cjs: 'promises.js', mjs: 'promises.mjs', names: ['createSocket', 'PromiseSocket', 'AbortError'] },
  { cjs: 'register.js', mjs: 'register.mjs', names: ['registered'] },
  { cjs: 'capabilities.js', mjs: 'capabilities.mjs', names: ['capabilities'] },
  { cjs: 'vnet.js', mjs: 'vnet.mjs', names: ['Network', 'Host', 'Link', 'Nat', 'Clock', 'VirtualTimer', 'Capture', 'summarize'] },
];

const dist = path.join(__dirname, '..', 'dist');
// Hand-written ES modules that have no CommonJS counterpart.
for (const file of fs.readdirSync(path.join(__dirname, '..', 'src', 'esm'))) {
  fs.copyFileSync(path.join(__dirname, '..', 'src', 'esm', file), path.join(dist, file));
}
for (const { cjs, mjs, names } of entries) {
  if (!fs.existsSync(path.join(dist, cjs))) continue;
  const lines = [`import m from './${cjs}';`];
  if (names.length) lines.push(`export const { ${names.join(', ')} } = m;`);
  lines.push('export default m;', '');
  fs.writeFileSync(path.join(dist, mjs), lines.join('\n'));
}
