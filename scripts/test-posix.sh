#!/usr/bin/env bash
# Runs the whole test suite on the portable POSIX datapath (native/platform_posix.c,
# what every non-Linux system gets), built here on Linux with binding.gyp's
# switch, so that a regression in the fallback shows up where the tests run.
#
# The fallback addon is built into build-posix/ and the suite finds it through
# UDPKIT_PREBUILD (node-gyp-build's override), leaving build/ alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/build-posix"

# node-gyp: on PATH under `npm run`, else the copy npm ships with.
gyp=(node-gyp)
if ! command -v node-gyp >/dev/null; then
  gyp=(node "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js")
fi
# Same headers as `npm ci` used (nodedir from npm's config), nothing downloaded.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir="$(npm config get nodedir)"
  [ "$nodedir" = "undefined" ] || [ "$nodedir" = "null" ] || export npm_config_nodedir="$nodedir"
fi

rm -rf "$out"
mkdir -p "$out/native"
cp binding.gyp "$out/"
cp native/*.c native/*.h "$out/native/"
(cd "$out" && "${gyp[@]}" rebuild --loglevel=warn -- -Dudpkit_platform=posix)

export UDPKIT_PREBUILD="$out"
npm run -s build:ts
# The suite must really run on the fallback: no batched syscalls, no drop counter.
node -e '
  const p = require("./dist/datapath/native.js").nativePlatform();
  if (p.recvmmsg || p.sendmmsg || p.dropCounter || p.segmentationOffload) {
    console.error("test-posix: the addon loaded is not the POSIX fallback:", p);
    process.exit(1);
  }
  console.log("test-posix: suite on the POSIX fallback datapath", JSON.stringify(p));
'
# The suite as `npm test` runs it (tests of what the fallback lacks, such as
# receive coalescing or the QUIC features, skip on its platform report).
npm test
