#!/bin/sh
# Runs a command in the arm64 toolchain's root (packaging/arm64/toolchain.sh), in a private mount
# namespace so nothing stays mounted afterwards: /proc, /dev, the source tree at /src, and
# qemu-aarch64-static (when installed), which runs arm64 programs there.
#
#   packaging/arm64/inchroot.sh ROOT SOURCE-TREE COMMAND [ARG...]
set -eu
[ $# -ge 3 ] || { echo "usage: inchroot.sh ROOT SOURCE-TREE COMMAND [ARG...]" >&2; exit 2; }
root=$1 src=$2
shift 2
exec unshare --mount --propagation private sh -euc '
    root=$1 src=$2
    shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/src"
    mount --bind "$src" "$root/src"
    if qemu=$(command -v qemu-aarch64-static); then
        touch "$root/usr/local/bin/qemu-aarch64-static"
        mount --bind "$qemu" "$root/usr/local/bin/qemu-aarch64-static"
    fi
    exec chroot "$root" "$@"' sh "$root" "$src" "$@"
