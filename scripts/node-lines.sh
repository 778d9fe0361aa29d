#!/usr/bin/env bash
# Prints the path of a Node binary for each major line asked for, one per line,
# in the order asked: the registry's node-linux-<arch> package (the official
# build), fetched once with `npm pack` and kept under .cache/nodes/.
#
#   scripts/node-lines.sh 20 22 24 26
#   for n in $(scripts/node-lines.sh 22 24 26); do "$n" --test test/*.test.js; done
#   NODE_LINES_ARCH=arm64 scripts/node-lines.sh 24     # another architecture's node
#
# Progress goes to stderr, so stdout is only the paths.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${NODE_LINES_ARCH:-x64}"
[ $# -gt 0 ] || { echo "usage: $0 MAJOR..." >&2; exit 2; }

for major in "$@"; do
  [[ "$major" =~ ^[0-9]+$ ]] || { echo "node-lines: '$major' is not a major version" >&2; exit 2; }
  home="$root/.cache/nodes/linux-$arch-$major"
  if [ ! -x "$home/bin/node" ]; then
    echo "node-lines: fetching node-linux-$arch@$major from the npm registry" >&2
    mkdir -p "$root/.cache"
    tmp="$(mktemp -d "$root/.cache/node-fetch-XXXXXX")"
    tgz="$(cd "$tmp" && npm pack "node-linux-$arch@$major" --silent | tail -n 1)"
    mkdir "$tmp/unpacked"
    tar xzf "$tmp/$tgz" -C "$tmp/unpacked" --strip-components=1 package/bin/node package/package.json
    rm -rf "$home"
    mkdir -p "$(dirname "$home")"
    mv "$tmp/unpacked" "$home"
    rm -rf "$tmp"
  fi
  echo "$home/bin/node"
done
