#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (gcc's
# runtime) in a scratch copy of the tree, and runs the test suite against it
# there: the normal build/ of this checkout is never touched, so there is
# nothing to restore.
#
#   bash scripts/asan.sh [node --test arguments...]   (default: test/)
#
# Node itself is not instrumented, so libasan must be preloaded. Leak checking
# of the whole node process reports V8's and node's own intentional leaks at
# exit, so LeakSanitizer is off by default; ASAN_LEAKS=1 turns it on with a
# suppression list for everything outside the addon.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${ASAN_WORKDIR:-$(mktemp -d /tmp/udpkit-asan.XXXXXX)}"
NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
LIBASAN="$(gcc -print-file-name=libasan.so)"
LIBUBSAN="$(gcc -print-file-name=libubsan.so)"

echo "asan: scratch tree $WORK"
mkdir -p "$WORK"
cp -r "$ROOT/native" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/src" "$ROOT/scripts" "$ROOT/test" "$WORK/"
ln -sfn "$ROOT/node_modules" "$WORK/node_modules"
for d in bin examples; do [ -d "$ROOT/$d" ] && cp -r "$ROOT/$d" "$WORK/"; done
# binding.gyp with sanitizer flags (and no -O2: -O1 keeps stacks readable)
node -e '
const fs = require("fs");
const g = JSON.parse(fs.readFileSync(process.argv[1], "utf8").replace(/#.*$/gm, ""));
const san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g", "-O1"];
for (const t of g.targets) {
  t.cflags = (t.cflags || []).filter((f) => !/^-O/.test(f)).concat(san);
  t.ldflags = (t.ldflags || []).concat(["-fsanitize=address,undefined"]);
}
fs.writeFileSync(process.argv[2], JSON.stringify(g, null, 2));
' "$ROOT/binding.gyp" "$WORK/binding.gyp"
# node-gyp fetches headers unless told where they are (npm passes its
# configured nodedir; called directly we must do the same).
NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
GYP_ARGS=()
if [ -n "$NODEDIR" ] && [ "$NODEDIR" != "undefined" ] && [ "$NODEDIR" != "null" ]; then GYP_ARGS+=("--nodedir=$NODEDIR")
elif [ -f "$(dirname "$(readlink -f "$(command -v node)")")/../include/node/node_api.h" ]; then GYP_ARGS+=("--nodedir=$(dirname "$(readlink -f "$(command -v node)")")/..")
fi
(cd "$WORK" && node "$NODE_GYP" rebuild "${GYP_ARGS[@]}" >"$WORK/gyp.log" 2>&1) || { tail -30 "$WORK/gyp.log"; exit 1; }
(cd "$WORK" && npx tsc -p tsconfig.json && node scripts/copy-esm.js)
grep -q __asan_init <(nm -D "$WORK/build/Release/udpkit.node") || { echo "asan: addon is not instrumented"; exit 1; }
echo "asan: instrumented addon $WORK/build/Release/udpkit.node"

cat >"$WORK/lsan.supp" <<'SUPP'
leak:node::
leak:v8::
leak:libnode
leak:/usr/bin/node
leak:uv_
SUPP
LEAKS="${ASAN_LEAKS:-0}"
export ASAN_OPTIONS="detect_leaks=$LEAKS:abort_on_error=1:halt_on_error=1:allow_user_segv_handler=1:handle_segv=1:detect_odr_violation=0:log_path=$WORK/asan"
export LSAN_OPTIONS="suppressions=$WORK/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$WORK/ubsan"
export LD_PRELOAD="$LIBASAN $LIBUBSAN"
[ $# -eq 0 ] && set -- test/
status=0
(cd "$WORK" && node --test --test-concurrency=1 "$@") >"$WORK/test.log" 2>&1 || status=$?
unset LD_PRELOAD
grep -E '^# (tests|pass|fail|skipped)' "$WORK/test.log" || tail -20 "$WORK/test.log"
reports=$( (ls "$WORK"/asan.* "$WORK"/ubsan.* 2>/dev/null || true) | wc -l)
echo "asan: test exit status $status, sanitizer reports: $reports"
for f in "$WORK"/asan.* "$WORK"/ubsan.*; do [ -f "$f" ] && { echo "== $f"; head -60 "$f"; }; done
[ "$status" -eq 0 ] && [ "$reports" -eq 0 ]
