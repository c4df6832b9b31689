#!/bin/sh
# Builds plugins/example OUT of tree the way a third-party author would:
# against a `meson install --destdir` copy of the SDK, with nothing but
#   pkg-config --cflags --libs sidecal-sdk libical
# then loads it with the host (sidecalctl plugins describe runs the same
# loader and stamp checks as the daemon) and checks its exported symbols.
# usage: sdk_out_of_tree.sh BUILD_ROOT SOURCE_ROOT SIDECALCTL
set -eu
build=$1
src=$2
ctl=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only the SDK (headers + .pc, install tag "devel"), as a -dev package has it.
meson install -C "$build" --no-rebuild --quiet --tags devel --destdir "$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name sidecal-sdk.pc)
[ -n "$pc" ] || { echo "sidecal-sdk.pc was not installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs sidecal-sdk libical)
echo "pkg-config: $flags"
[ "$(pkg-config --variable=abi_major sidecal-sdk)" = 1 ]
pkg-config --variable=connectordir sidecal-sdk | grep -q '/sidecal/connectors$'

mkdir "$tmp/plugins" "$tmp/src"
# A copy outside the source tree, so no in-tree include path can leak in.
cp "$src/plugins/example/example.c" "$tmp/src/"
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -fvisibility=hidden \
  -Wl,-z,defs -o "$tmp/plugins/example.so" "$tmp/src/example.c" $flags
chmod 0755 "$tmp/plugins/example.so"

exported=$(nm -D --defined-only "$tmp/plugins/example.so" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}')
[ "$exported" = sidecal_connector_entry ] || { echo "unexpected exports: $exported"; exit 1; }

out=$("$ctl" plugins describe example --plugin-dir "$tmp/plugins")
echo "$out"
echo "$out" | grep -q '^example 1.0.0 (ABI 1.3)$'
echo "$out" | grep -q '^  path (string, required)$'
echo "$out" | grep -q "^file: $tmp/plugins/example.so$"
echo "out-of-tree example connector built and loaded"
