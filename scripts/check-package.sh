#!/usr/bin/env bash
# Checks the package as users get it: `npm pack`, then install the tarball into
# a fresh project with install scripts blocked, and on Node 20, 22, 24 and 26
# (the registry's official builds, scripts/node-lines.sh): CommonJS, ESM
# default and named imports, a strict TypeScript consumer (esModuleInterop,
# our .d.ts type-checked), `npx udpkit --help`. Then: the tarball holds only
# what users need; an install with scripts allowed but no compiler works; with
# no binary at all the first socket fails with one readable line.
#
# Needs dist/ built and prebuilds/ current (npm pack's prepack builds them).
# NODE_LINES="22 24" narrows the lines; CHECK_ARM64=1 also runs the CommonJS
# round trip on an arm64 node under qemu-aarch64 (not in CI: no qemu there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$root/test/package"
work="$(mktemp -d "${TMPDIR:-/tmp}/udpkit-package-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "check-package: ok $*"; }

cd "$root"
tgz="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "check-package: packed $(basename "$tgz") ($(stat -c %s "$tgz") bytes)"

# What is in it: users' files only.
tar tzf "$tgz" | sed 's#^package/##' | sort > "$work/files"
# Every source binding.gyp names, for Linux and for the fallback (which other
# systems build at install), with the headers beside them.
sources="$(for v in native posix; do python3 scripts/gyp-target.py binding.gyp -Dudpkit_platform=$v; done |
  node -e 'const s = new Set(); for (const l of require("fs").readFileSync(0, "utf8").trim().split("\n")) for (const f of JSON.parse(l).sources) s.add(f); console.log([...s].join(" "))')"
for want in package.json README.md LICENSE binding.gyp bin/udpkit.js dist/index.js dist/index.d.ts dist/index.mjs \
  dist/promises.mjs dist/register.mjs $sources $(cd native && ls *.h | sed 's#^#native/#') \
  prebuilds/linux-x64/node.napi.glibc.node prebuilds/linux-x64/node.napi.musl.node \
  prebuilds/linux-arm64/node.napi.glibc.node prebuilds/linux-arm64/node.napi.musl.node; do
  grep -qx "$want" "$work/files" || fail "the tarball lacks $want"
done
unexpected="$(grep -Ev '^(package\.json|README\.md|LICENSE|binding\.gyp|bin/[^/]+\.js|dist/.+\.(js|mjs|d\.ts)|native/[^/]+\.[ch]|prebuilds/linux-(x64|arm64)/node\.napi\.(glibc|musl)\.node)$' "$work/files" || true)"
[ -z "$unexpected" ] || fail "the tarball holds files users do not need: $unexpected"
ok "tarball: $(wc -l < "$work/files") files, all for users"

# The binaries are what their names say: architecture, C library, and for
# glibc nothing newer than 2.28 (Node 20's own floor), as the README promises.
mkdir "$work/unpacked" && tar xzf "$tgz" -C "$work/unpacked"
for f in "$work"/unpacked/package/prebuilds/*/*.node; do
  name="${f#"$work"/unpacked/package/}"
  case "$name" in
    *linux-x64/*) machine='Advanced Micro Devices X86-64' ;;
    *linux-arm64/*) machine='AArch64' ;;
  esac
  readelf -h "$f" | grep -q "Machine: *$machine\$" || fail "$name is not built for $machine"
  needed="$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')"
  glibc="$(objdump -T "$f" | { grep -o 'GLIBC_[0-9.]*' || true; } | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  case "$name" in
    *.musl.node)
      [ "$needed" = "libc.so " ] || fail "$name needs $needed, not musl's libc.so alone"
      [ -z "$glibc" ] || fail "$name asks for glibc symbols" ;;
    *.glibc.node)
      [ "$(printf '%s\n' "$glibc" 2.28 | sort -V | tail -n 1)" = 2.28 ] || fail "$name needs glibc $glibc, newer than 2.28" ;;
  esac
  ok "$name: $machine, needs ${needed% }${glibc:+, glibc >= $glibc}"
done

# A fresh project; udpkit installed with every install script blocked.
app="$work/app"
mkdir "$app"
cp "$fixtures"/roundtrip.cjs "$fixtures"/roundtrip.mjs "$fixtures"/no-binary.cjs "$fixtures"/consumer.ts "$fixtures"/tsconfig.json "$app/"
cd "$app"
echo '{ "name": "udpkit-consumer", "version": "1.0.0", "private": true }' > package.json
npm install --ignore-scripts --no-audit --no-fund --silent "$tgz"
installed="$(cd node_modules && ls -A | grep -v '^\.' | sort | tr '\n' ' ')"
[ "$installed" = "node-gyp-build udpkit " ] || fail "installing udpkit brought more than node-gyp-build: $installed"
[ ! -e node_modules/udpkit/build ] || fail "something was built at install"
ok "installed with scripts blocked; dependencies: $installed"

# The TypeScript consumer: type-checked against our .d.ts, compiled once.
npm install --ignore-scripts --no-audit --no-fund --silent --save-dev typescript@5 @types/node@20
node_modules/.bin/tsc -p tsconfig.json || fail "the TypeScript consumer does not type-check against udpkit's types"
ok "TypeScript consumer type-checks (strict, esModuleInterop, skipLibCheck off)"

lines="${NODE_LINES:-20 22 24 26}"
mapfile -t nodes < <("$root/scripts/node-lines.sh" $lines)
for node in "${nodes[@]}"; do
  v="$("$node" --version)"
  export PATH="$(dirname "$node"):$PATH"
  [ "$(node --version)" = "$v" ] || fail "PATH does not lead to $node"
  node roundtrip.cjs || fail "CommonJS on $v"
  node roundtrip.mjs || fail "ESM on $v"
  node out/consumer.js || fail "the compiled TypeScript consumer on $v"
  npx udpkit --help > "$work/help.txt" || fail "npx udpkit --help on $v"
  grep -q '^Usage: udpkit' "$work/help.txt" || fail "npx udpkit --help printed no usage on $v: $(head -n 3 "$work/help.txt")"
  ok "node $v: CommonJS, ESM, TypeScript, npx udpkit --help"
  PATH="${PATH#*:}"
done

# No matching binary and nothing built: one readable line, not a module-not-found.
mv node_modules/udpkit/prebuilds "$work/prebuilds.hidden"
node no-binary.cjs || fail "the error without a binary"
mv "$work/prebuilds.hidden" node_modules/udpkit/prebuilds
ok "without a binary: one line naming platform, arch and the fix"

# Install script approved (allowScripts; older npm runs it anyway), no
# compiler: node-gyp-build finds the prebuilt binary and builds nothing
# (CC/CXX=false would fail any compile).
app2="$work/app-scripts"
mkdir "$app2" && cd "$app2"
echo "{ \"name\": \"udpkit-consumer-scripts\", \"version\": \"1.0.0\", \"private\": true, \"allowScripts\": { \"file:$tgz\": true } }" > package.json
CC=false CXX=false npm install --no-audit --no-fund --foreground-scripts "$tgz" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "install with scripts allowed and no compiler"; }
grep -q '^> node-gyp-build' "$work/install.log" || { cat "$work/install.log"; fail "udpkit's install script did not run"; }
[ ! -e node_modules/udpkit/build ] || fail "the install script compiled although a prebuilt binary matched"
cp "$fixtures/roundtrip.cjs" . && node roundtrip.cjs || fail "CommonJS after an install with scripts"
ok "installed with the install script approved and no compiler: it ran, found the prebuilt binary, compiled nothing"

if [ "${CHECK_ARM64:-0}" = 1 ]; then
  arm="$(NODE_LINES_ARCH=arm64 "$root/scripts/node-lines.sh" "${lines%% *}")"
  cd "$app"
  QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 "$arm" roundtrip.cjs || fail "CommonJS on arm64 under qemu"
  ok "linux-arm64 (glibc) under qemu-aarch64: CommonJS round trip"
fi

echo "check-package: $passed passed, 0 failed"
