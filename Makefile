# hubagent: the two commands of the README are `make demo` and `make test`. Both install what
# they need first (Debian packages, Python test tools), so they work on a fresh Debian 12 machine
# with the Swift toolchain.

SWIFT   ?= swift
PYTHON  ?= python3
PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= /lib/systemd/system

# libdispatch's renicing of its worker threads goes to a function that declines it quietly
# (Sources/Platform/ThreadPriority.swift): the unit's system call filter denies setpriority, and
# each denial was a log line that reads like an error.
LINK_FLAGS    = -Xlinker --wrap=setpriority

# lld, not the toolchain's default gold: read-only data leaves the writable segment, and relative
# relocations are packed (DT_RELR, glibc >= 2.36): up to 1 MB less resident, at start and idle
# (docs/platform-notes.md swift §6). The Swift metadata sections come out identical.
LINKER_FLAGS  = -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs

# No RUNPATH ($$ORIGIN points nowhere useful once installed), and full RELRO: every symbol bound
# at exec, so the GOT is read-only for the daemon's whole life (no measurable cost at start).
RELEASE_FLAGS = -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now $(LINKER_FLAGS) \
                $(LINK_FLAGS)
BIN           = .build/release/hubagent
DEB_DIR       = .build/deb
# The test build: the release build plus the test hooks (docs/ARCHITECTURE.md, "Test hooks"), in its
# own scratch directory. Only the scenarios that use a hook run it; everything else runs $(BIN).
TEST_FLAGS    = -c release --static-swift-stdlib --scratch-path .build-test -Xswiftc -DHUBAGENT_TEST_HOOKS \
                $(LINKER_FLAGS) $(LINK_FLAGS)
TEST_BIN      = .build-test/release/hubagent

APT_PACKAGES  = libssl-dev libsystemd-dev libcurl4-openssl-dev pkg-config strace systemd-container debootstrap \
                dpkg-dev lintian

.PHONY: all deps lint build release test-build unit-test emulator-test system-test test demo install deb clean bench bench-relay fuzz soak storage-faults \
        relay-kills relay-storage-faults relay-power-cut relay-outage relay-soak

all: release

## Debian packages and Python test tools, installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(PYTHON) -c 'import cryptography, pytest' 2>/dev/null || { \
	  echo "installing Python test tools: cryptography pytest"; \
	  $(PYTHON) -m pip install -q cryptography pytest 2>/dev/null || { \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography python3-pytest >/dev/null; }; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

## The daemon with its test hooks, for the scenarios that need them; never installed or packaged.
test-build: deps
	$(SWIFT) build $(TEST_FLAGS)

unit-test: deps
	$(SWIFT) test

emulator-test: deps
	$(PYTHON) -m pytest -q Tests/Emulator

system-test: release test-build
	HUBAGENT_BIN=$(abspath $(BIN)) HUBAGENT_TEST_BIN=$(abspath $(TEST_BIN)) $(PYTHON) -m pytest -q Tests/System

## The format of every Swift file (.swift-format: swift-format's rules, 120 columns).
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Package.swift
	$(PYTHON) Tests/line_length.py

## Every test: the format lint, Swift unit tests, the emulator's own tests, the system scenarios.
test: lint unit-test emulator-test system-test

## A demo: the emulator on loopback and an agent onboarding against it.
demo: release
	$(PYTHON) Tests/Demo/demo.py --hubagent $(abspath $(BIN))

## The stripped static binary, the unit and the example files, under $(DESTDIR)$(PREFIX).
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/hubagent/examples
	install -m 0755 -s $(BIN) $(DESTDIR)$(PREFIX)/bin/hubagent
	sed 's|^ExecStart=/usr/bin/hubagent|ExecStart=$(PREFIX)/bin/hubagent|' systemd/hubagent.service > $(DESTDIR)$(UNITDIR)/hubagent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/hubagent.service
	install -m 0644 systemd/hubagent.socket systemd/hubagent-data.socket systemd/hubagent-boarding.path \
		systemd/hubagent-boarding.service $(DESTDIR)$(UNITDIR)/
	install -m 0644 etc/hubagent.conf etc/datasources.yaml etc/boarding.json.example $(DESTDIR)$(PREFIX)/share/doc/hubagent/examples/

# arm64 (packaging/arm64/README.md): cross-built with Debian 13's Swift 6.0.3 in a root file
# system of its own, against a Debian 12 sysroot, tested under qemu-user. `make deb ARCH=arm64`.
.PHONY: arm64-toolchain release-arm64 tests-arm64 test-arm64
ARCH            ?=
ARM64_DIR        = .build-arm64
ARM64_TOOLCHAIN  = $(ARM64_DIR)/toolchain
ARM64_BIN        = $(ARM64_DIR)/release/aarch64-unknown-linux-gnu/release/hubagent
ARM64_TESTS      = $(ARM64_DIR)/debug/aarch64-unknown-linux-gnu/debug/hubagentPackageTests.xctest

## hubagent_<version>_<arch>.deb in $(DEB_DIR): the binary, the unit, hubagent(8), the examples and
## maintainer scripts that enable the unit and start it once a boarding file is there.
## ARCH=arm64: the same package for arm64, built in the arm64 toolchain's Debian 12 sysroot (Depends
## from the arm64 libraries there; the binary asked for its version and help texts under qemu-user).
ifeq ($(ARCH),arm64)
deb: release-arm64
	packaging/arm64/inchroot.sh $(ARM64_TOOLCHAIN)/srv/sysroot $(CURDIR) env SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) \
	  STRIP=aarch64-linux-gnu-strip python3 /src/packaging/arm64/emulated.py /src/systemd/debian/build-deb.py \
	  --binary /src/$(ARM64_BIN) --out /src/$(DEB_DIR)
else
deb: release
	$(PYTHON) systemd/debian/build-deb.py --binary $(BIN) --out $(DEB_DIR)
endif

## The arm64 toolchain (packaging/arm64/toolchain.sh): once, about 1.5 GB of downloads, 5 GB on disk.
arm64-toolchain: deps
	@dpkg-query -W -f='$${Status}' qemu-user-static 2>/dev/null | grep -q 'ok installed' || { \
	  echo "installing Debian packages: qemu-user-static"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null; }
	packaging/arm64/toolchain.sh $(abspath $(ARM64_TOOLCHAIN))

## The arm64 release binary, built as `make release` builds the amd64 one, for Debian 12 and later.
release-arm64: arm64-toolchain
	packaging/arm64/build.sh $(ARM64_TOOLCHAIN) release $(ARM64_DIR)/release $(RELEASE_FLAGS)

## The arm64 unit-test bundle (a debug build, as `swift test` builds it).
tests-arm64: arm64-toolchain
	packaging/arm64/build.sh $(ARM64_TOOLCHAIN) tests $(ARM64_DIR)/debug --build-tests $(LINK_FLAGS)

## arm64 under qemu-user: the unit tests, then a smoke scenario against the emulator (onboarding
## with both profiles, a rotation each, tokens, values through the relay) in a Debian 12 root, and the
## package. Not part of `make test`: about 8.5 minutes on 2 cores, plus 9.5 for the toolchain on a
## new machine (packaging/arm64/README.md).
test-arm64: release-arm64 tests-arm64
	$(MAKE) deb ARCH=arm64
	PYTHON=$(PYTHON) ARM64_DEB=$(DEB_DIR)/hubagent_$$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' \
	  Sources/Agent/Status/Version.swift)_arm64.deb packaging/arm64/test.sh $(ARM64_TOOLCHAIN) $(ARM64_BIN) $(ARM64_TESTS)

clean:
	rm -rf .build .build-* $(DEB_DIR)

## Footprint and latency benchmarks against the emulator (bench/README.md): the agent's, then the
## relay's; prints the tables and writes bench/RESULTS.md, in about 12 minutes. BENCH_ARGS=--quick
## for a smoke run of both (prints only). Informational: a missed target never fails the build.
bench: release
	$(PYTHON) bench/bench.py --hubagent $(abspath $(BIN)) $(BENCH_ARGS)
	$(PYTHON) bench/relay_bench.py --hubagent $(abspath $(BIN)) $(RELAY_BENCH_ARGS)

## The relay's benchmarks alone (ingest, bytes per value, drain, idle wake-ups): the Relay section
## of bench/RESULTS.md, in about 6 minutes; RELAY_BENCH_ARGS=--quick for a 2-minute smoke run.
RELAY_BENCH_ARGS ?= $(filter --quick --keep,$(BENCH_ARGS))
bench-relay: release
	$(PYTHON) bench/relay_bench.py --hubagent $(abspath $(BIN)) $(RELAY_BENCH_ARGS)

## libFuzzer campaign (Tests/Fuzz/README.md): a separate sanitizer build in .build-fuzz, then each
## target for FUZZ_SECONDS against its committed corpus; fails on a crash or a broken invariant.
FUZZ_SECONDS ?= 60
fuzz: deps
	Tests/Fuzz/run.sh --seconds $(FUZZ_SECONDS)

## The long robustness runs with the test build (the short versions are part of `make test`): every state-file syscall
## failed in turn during onboarding and rotation (about 12 min), and the soak: 10,000 rotations and
## 50,000 token refreshes under random southgate faults (about 30 min); arguments in *_ARGS.
storage-faults: test-build
	$(PYTHON) Tests/System/storage_faults.py --hubagent $(abspath $(TEST_BIN)) $(STORAGE_FAULTS_ARGS)

soak: test-build
	$(PYTHON) Tests/System/soak.py --hubagent $(abspath $(TEST_BIN)) --rotations 10000 --refreshes 50000 $(SOAK_ARGS)

## The relay's long campaigns (Tests/System/relay_campaigns.py; the short versions are scenarios 60-63 of
## `make test`): 1,000 kill -9 during ingest and upload (about 15 min); every journal and cursor
## storage fault position, singly and in runs of 3 (about 15 min); 40 rounds of flipped bytes and truncated
## segments plus 40 journal copies taken mid-write (about 20 min); a 3-minute outage under steady ingest
## (about 7 min); the soak, 10 million values through random exchange faults and rotations, stopped after
## 20 min with the rate projected. Results in bench/ROBUSTNESS.md; arguments in RELAY_*_ARGS.
relay-kills: test-build
	$(PYTHON) Tests/System/relay_campaigns.py kills --hubagent $(abspath $(TEST_BIN)) --kills 1000 $(RELAY_KILLS_ARGS)

relay-storage-faults: test-build
	$(PYTHON) Tests/System/relay_campaigns.py storage-faults --hubagent $(abspath $(TEST_BIN)) $(RELAY_STORAGE_FAULTS_ARGS)

relay-power-cut: test-build
	$(PYTHON) Tests/System/relay_campaigns.py power-cut --hubagent $(abspath $(TEST_BIN)) --rounds 40 --copies 40 \
		$(RELAY_POWER_CUT_ARGS)

relay-outage: test-build
	$(PYTHON) Tests/System/relay_campaigns.py outage --hubagent $(abspath $(TEST_BIN)) --seconds 180 $(RELAY_OUTAGE_ARGS)

relay-soak: test-build
	$(PYTHON) Tests/System/relay_campaigns.py soak --hubagent $(abspath $(TEST_BIN)) --values 10000000 --max-seconds 1200 \
		$(RELAY_SOAK_ARGS)
