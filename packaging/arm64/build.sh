#!/bin/sh
# Cross-builds hubagent for arm64 with the toolchain of toolchain.sh: `swift build` with the
# caller's arguments (the Makefile passes the same flags as for the amd64 release or tests), for
# aarch64-unknown-linux-gnu, against the arm64 Swift runtime (static with --static-swift-stdlib)
# and the arm64 libraries' pkg-config files, linked by lld.
#
#   packaging/arm64/build.sh TOOLCHAIN SCRATCH-PATH [SWIFT-BUILD-ARG...]
#
# SCRATCH-PATH is relative to the source tree. ARM64_JOBS limits parallel jobs.
set -eu
[ $# -ge 2 ] || { echo "usage: build.sh TOOLCHAIN SCRATCH-PATH [SWIFT-BUILD-ARG...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
toolchain=$1 scratch=$2
shift 2
runtime=/opt/swift-aarch64/lib/swift
for argument in "$@"; do
    [ "$argument" = --static-swift-stdlib ] && runtime=/opt/swift-aarch64/lib/swift_static
done
exec "$here/inchroot.sh" "$toolchain" "$root" env \
    PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
    swift build --package-path /src --scratch-path "/src/$scratch" ${ARM64_JOBS:+-j "$ARM64_JOBS"} \
    --triple aarch64-unknown-linux-gnu -Xswiftc -resource-dir -Xswiftc "$runtime" -Xswiftc -use-ld=lld "$@"
