#!/usr/bin/env bash
# Assembles the arm64 cross toolchain, once, in a build directory (default .build-arm64/toolchain):
#
# - the toolchain root: Debian 13 (amd64) with Debian's Swift 6.0.3 compiler, the arm64 Swift
#   runtime from Debian's swiftlang:arm64 under /opt/swift-aarch64, and the arm64 libraries
#   (multiarch), against which the unit-test bundle builds and runs (XCTest needs Debian 13);
# - the sysroot, /srv/sysroot in it: Debian 12 (amd64) with the arm64 libraries hubagent links
#   (multiarch, so dpkg-shlibdeps there names Debian 12's packages). The release binary is built
#   against it so that it runs on Debian 12 and later (README.md beside this file).
#
# Both are arm64 root file systems for qemu-user too.
#
#   packaging/arm64/toolchain.sh [DIR]
#
# Nothing here touches the machine's own apt configuration: each root has its own sources, and
# their mirror is the one this machine's apt uses for Debian.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
toolchain=${1:-$root/.build-arm64/toolchain}
sysroot=$toolchain/srv/sysroot
# The compiler and the runtime must be the same build; 6.0.3 is what Debian 13 ships.
swift_version=6.0.3
stamp=$toolchain/.hubagent-toolchain
version="trixie $swift_version, sysroot bookworm"

# Libraries for arm64 (headers, pkg-config files, and the runtime libraries they pull in).
arm64_libraries="libc6-dev:arm64 libssl-dev:arm64 libcurl4-openssl-dev:arm64 libsystemd-dev:arm64"
# Tools that run on the build machine: the compiler, pkg-config, dpkg-shlibdeps and objdump for
# arm64, strip for arm64, and Python for systemd/debian/build-deb.py.
toolchain_packages="swiftlang libc6-dev libstdc++-14-dev pkg-config libgcc-14-dev:arm64 libstdc++-14-dev:arm64
  $arm64_libraries"
sysroot_packages="dpkg-dev binutils-aarch64-linux-gnu python3 libgcc-12-dev:arm64 libstdc++-12-dev:arm64
  $arm64_libraries"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
    exit 0
fi

# The Debian mirror this machine's apt reads (its main suite), e.g. from debian.sources.
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
mirror=$(apt-cache policy | awk -v want="$codename/main" '$3 == want && $2 ~ /^https?:/ { print $2; exit }')
if [ -z "$mirror" ]; then
    echo "toolchain.sh: no Debian mirror for $codename/main in this machine's apt sources" >&2
    exit 1
fi
log=$toolchain.log

# debootstrap SUITE into DIR, then the packages (amd64 and :arm64) with the root's own apt.
make_root() {
    local suite=$1 dir=$2 packages
    packages=$(echo $3)
    echo "arm64 toolchain: Debian $suite (amd64) in $dir, from $mirror"
    debootstrap --variant=minbase --arch=amd64 "$suite" "$dir" "$mirror" >>"$log" 2>&1 || {
        tail -20 "$log" >&2
        exit 1
    }
    printf 'deb [arch=amd64,arm64] %s %s main\n' "$mirror" "$suite" >"$dir/etc/apt/sources.list"
    # Downloaded packages are not kept: the root is built once.
    printf 'APT::Install-Recommends "false";\nAPT::Keep-Downloaded-Packages "false";\n' \
        >"$dir/etc/apt/apt.conf.d/90hubagent"
    "$here/inchroot.sh" "$dir" "$root" sh -euc "
        dpkg --add-architecture arm64
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages" >>"$log" 2>&1 || {
        tail -20 "$log" >&2
        exit 1
    }
}

started=$(date +%s)
rm -rf "$toolchain"
mkdir -p "$(dirname "$toolchain")"
: >"$log"
make_root trixie "$toolchain" "$toolchain_packages"
"$here/inchroot.sh" "$toolchain" "$root" sh -euc "
    swift --version 2>&1 | grep -q 'Swift version $swift_version' || { swift --version; exit 1; }
    # The arm64 Swift runtime beside the compiler's own (swift: shared, swift_static: static).
    rm -rf /opt/swift-aarch64 /srv/swift-debs
    mkdir -p /opt/swift-aarch64 /srv/swift-debs
    cd /srv/swift-debs
    apt-get download -q swiftlang:arm64 libswiftlang:arm64
    lib=./usr/libexec/swift/lib
    dpkg-deb --fsys-tarfile swiftlang_*_arm64.deb | tar -x -C /opt/swift-aarch64 --strip-components=4 \
        \$lib/swift \$lib/swift_static \$lib/clang
    dpkg-deb --fsys-tarfile libswiftlang_*_arm64.deb | tar -x -C /opt/swift-aarch64 --strip-components=4 \$lib/swift
    rm -rf /srv/swift-debs
    test -f /opt/swift-aarch64/lib/swift_static/linux/libswiftCore.a
    test -f /opt/swift-aarch64/lib/swift/linux/libXCTest.so
" >>"$log" 2>&1 || {
    tail -20 "$log" >&2
    exit 1
}

make_root bookworm "$sysroot" "$sysroot_packages"
# Seen from the toolchain root, an absolute link in the sysroot (libm.so -> /lib/…/libm.so.6)
# would reach Debian 13's library: make the links under the library directories relative.
find "$sysroot/usr/lib/aarch64-linux-gnu" "$sysroot/usr/lib/gcc" -type l -lname '/*' | while read -r link; do
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$(readlink "$link")")" "$link"
done

echo "$version" >"$stamp"
echo "arm64 toolchain ready in $(($(date +%s) - started)) s ($(du -sh "$toolchain" | cut -f1))"
