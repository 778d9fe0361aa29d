// udpkit/register: a preload that makes every `dgram` / `node:dgram` in the
// process resolve to udpkit, for CommonJS (require) and ES modules (import).
//   node -r udpkit/register app.js
//   node --import udpkit/register app.mjs
//   NODE_OPTIONS="--import udpkit/register" npm start   (child processes too)
import Module = require('node:module');
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const MARK = Symbol.for('udpkit.register');
const DGRAM = new Set(['dgram', 'node:dgram']);

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
interface ModuleInternals {
  _load: Load;
  register?: (specifier: string, parentURL?: string) => void;
}

function install(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[MARK]) return;
  g[MARK] = true;

  const udpkit = require('./index') as unknown;
  const internals = Module as unknown as ModuleInternals;
  const originalLoad = internals._load;
  internals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (DGRAM.has(request)) return udpkit;
    return originalLoad.call(this, request, parent, isMain);
  };

  // ES modules: a resolve hook redirects the builtin to udpkit's ESM entry.
  if (typeof internals.register === 'function') {
    const hooks = pathToFileURL(path.join(__dirname, 'register-hooks.mjs')).href;
    internals.register(hooks, pathToFileURL(__filename).href);
  }
}

install();

/** True when this process runs every dgram through udpkit. */
export const registered = true;
