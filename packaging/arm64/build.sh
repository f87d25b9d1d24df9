#!/bin/sh
# Cross-builds hubagent for arm64 with the toolchain of toolchain.sh: `swift build` with the
# caller's arguments (the Makefile passes the same flags as for the amd64 builds), for
# aarch64-unknown-linux-gnu, linked by lld.
#
#   packaging/arm64/build.sh TOOLCHAIN release|tests SCRATCH-PATH [SWIFT-BUILD-ARG...]
#
# release: against the Debian 12 sysroot and the static Swift runtime, with glibc236.c for the
# four functions the runtime needs from a newer glibc (runs on Debian 12 and later). tests:
# against the toolchain root's Debian 13 libraries and the shared runtime, which XCTest needs.
# SCRATCH-PATH is relative to the source tree. ARM64_JOBS limits parallel jobs.
set -eu
[ $# -ge 3 ] || { echo "usage: build.sh TOOLCHAIN release|tests SCRATCH-PATH [SWIFT-BUILD-ARG...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
toolchain=$1 kind=$2 scratch=/src/$3
shift 3
case "$kind" in
release)
    exec "$here/inchroot.sh" "$toolchain" "$root" sh -euc '
        scratch=$1
        shift
        mkdir -p "$scratch"
        /usr/libexec/swift/bin/clang --target=aarch64-linux-gnu --sysroot=/srv/sysroot -O2 -fPIC -Wall -Werror \
            -c /src/packaging/arm64/glibc236.c -o "$scratch/glibc236.o"
        export PKG_CONFIG_SYSROOT_DIR=/srv/sysroot
        export PKG_CONFIG_LIBDIR=/srv/sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:/srv/sysroot/usr/share/pkgconfig
        exec swift build --package-path /src --scratch-path "$scratch" ${ARM64_JOBS:+-j "$ARM64_JOBS"} \
            --triple aarch64-unknown-linux-gnu -Xswiftc -sdk -Xswiftc /srv/sysroot \
            -Xswiftc -resource-dir -Xswiftc /opt/swift-aarch64/lib/swift_static -Xswiftc -use-ld=lld \
            -Xlinker "$scratch/glibc236.o" "$@"' sh "$scratch" "$@" ;;
tests)
    exec "$here/inchroot.sh" "$toolchain" "$root" env \
        PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
        swift build --package-path /src --scratch-path "$scratch" ${ARM64_JOBS:+-j "$ARM64_JOBS"} \
        --triple aarch64-unknown-linux-gnu -Xswiftc -resource-dir -Xswiftc /opt/swift-aarch64/lib/swift \
        -Xswiftc -use-ld=lld "$@" ;;
*) echo "build.sh: release or tests, not $kind" >&2; exit 2 ;;
esac
