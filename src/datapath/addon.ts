// Finds and loads the native addon; the one place that knows where it lives.
//
// node-gyp-build picks it: a local build (build/Release, made by node-gyp when
// the install script ran or `npm run build`) wins over the prebuilt binaries
// shipped in prebuilds/<platform>-<arch>/, which are Node-API and so serve
// every Node line. UDPKIT_PREBUILD=<dir> makes it look in <dir> instead (the
// loader's own override; the POSIX-fallback test run uses it).
//
// A user without a matching binary gets one line saying which platform and
// what to do, instead of a stack of module-not-found paths: install scripts
// blocked by default (npm 12's allowScripts) make that case ordinary.
import * as path from 'node:path';

interface Loader {
  /** The .node file that matches this process; throws when there is none. */
  path(dir: string): string;
}

// dist/datapath/addon.js -> the package root (package.json, build/, prebuilds/)
const packageRoot = path.join(__dirname, '..', '..');

const FIX =
  'Fix: let udpkit\'s install script run (npm 11.16+: npm install-scripts approve udpkit) and run ' +
  '"npm rebuild udpkit", which compiles it (needs python3, make and a C compiler).';

let loaded: unknown;

/** The addon's exports; each caller states the part of them it uses. */
export function loadAddon(): unknown {
  if (loaded !== undefined) return loaded;
  const loader = require('node-gyp-build') as Loader;
  let file: string;
  try {
    file = loader.path(packageRoot);
  } catch (cause) {
    throw addonError(`udpkit: no native binary for ${target()} was shipped or built. ${FIX}`, cause);
  }
  try {
    loaded = require(file) as unknown;
  } catch (cause) {
    const why = firstLine(cause);
    throw addonError(`udpkit: the native binary ${file} does not load on ${target()} (${why}). ${FIX}`, cause);
  }
  return loaded;
}

/** "linux-x64 (glibc)": the platform and architecture, and on Linux the C library, which decides the binary too. */
function target(): string {
  const name = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return name;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `${name} (${header?.glibcVersionRuntime === undefined ? 'musl' : 'glibc'})`;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0].trim();
}

function addonError(message: string, cause: unknown): Error {
  const err = new Error(message, { cause }) as Error & { code: string };
  err.code = 'ERR_UDPKIT_NO_BINARY';
  return err;
}
