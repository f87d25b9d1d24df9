#!/bin/sh
# make test-arm64: the arm64 builds under qemu-user, in the toolchain's arm64 root file system
# (toolchain.sh): the unit tests (the arm64 XCTest bundle, with Debian's arm64 Swift runtime, in
# the Debian 13 root), then the smoke scenario (smoke_test.py) with the arm64 release binary in
# the Debian 12 root against the southgate emulator running natively on this machine.
#
#   packaging/arm64/test.sh TOOLCHAIN RELEASE-BINARY TEST-BUNDLE
set -eu
[ $# -eq 3 ] || { echo "usage: test.sh TOOLCHAIN RELEASE-BINARY TEST-BUNDLE" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
toolchain=$(cd "$1" && pwd)
binary=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
bundle=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
python=${PYTHON:-python3}
case "$bundle" in
"$root"/*) ;;
*) echo "test.sh: the test bundle must be inside the source tree ($root)" >&2; exit 2 ;;
esac

# Unit tests: in the root, where the bundle finds the fixtures under /src as it was built. All but
# the two that time the parsers on the machine's clock: emulation is 10 to 20 times slower.
skipped="AgentTests.DataSourcesModelTests/testFiveHundredPointsParseQuickly
RelayTests.IngestTimeseriesTests/testTimingOfAThousandValues"
started=$(date +%s)
"$here/inchroot.sh" "$toolchain" "$root" sh -euc '
    cd /src
    run() { qemu-aarch64-static -L / -E LD_LIBRARY_PATH=/opt/swift-aarch64/lib/swift/linux "$@"; }
    tests=$(run "$1" --list-tests | grep / | grep -vxF "$2" | paste -sd, -)
    run "$1" "$tests"' sh "/src/${bundle#"$root"/}" "$skipped"
echo "arm64 unit tests under qemu-user: $(($(date +%s) - started)) s"

# The smoke scenario, in the Debian 12 root (the oldest the package is for): a wrapper is the
# binary the system-test harness starts.
wrapper=$(dirname "$binary")/hubagent-qemu
printf '#!/bin/sh\nexec qemu-aarch64-static -L %s %s "$@"\n' "$toolchain/srv/sysroot" "$binary" >"$wrapper"
chmod 0755 "$wrapper"
started=$(date +%s)
HUBAGENT_BIN=$wrapper HUBAGENT_ARM64_BIN=$binary HUBAGENT_ARM64_DEB=${ARM64_DEB:-} \
    HUBAGENT_ARM64_ROOTS="$toolchain/srv/sysroot $toolchain" "$python" -m pytest -q -s -p no:cacheprovider "$here/smoke_test.py"
echo "arm64 smoke scenario under qemu-user: $(($(date +%s) - started)) s"
