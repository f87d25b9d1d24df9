#!/usr/bin/env bash
# Builds the libFuzzer targets and runs a time-boxed campaign on each (README.md in this directory).
#
#   Tests/Fuzz/run.sh [--seconds N] [--update-corpus] [--no-build] [--scratch-path DIR] [target ...]
#
# New inputs go to DIR/campaign/<target>/corpus, crashes to DIR/campaign/<target>/; the committed
# corpus in Tests/Fuzz/corpus/<target> is only read, unless --update-corpus replaces its non-seed
# files by the smallest set of inputs covering the same edges. Exits 1 when a target crashed or
# broke an invariant.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
update=0
build=1
scratch="$root/.build-fuzz"
all=(fuzz-boarding fuzz-datasources fuzz-jwt fuzz-southgate fuzz-local-http fuzz-ingest fuzz-events fuzz-codec
    fuzz-journal fuzz-exchange)
selected=()

while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --update-corpus) update=1; shift ;;
        --no-build) build=0; shift ;;
        --scratch-path) scratch=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        fuzz-*) selected+=("$1"); shift ;;
        *) echo "run.sh: unknown argument $1 (targets: ${all[*]})" >&2; exit 2 ;;
    esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${all[@]}")

# Longest input per target: a boarding file is ~2 KiB; the YAML needs room for a few sources;
# the token socket's head limit is 8 KiB, and the parser must be seen on both sides of it.
max_len() {
    case "$1" in
        fuzz-datasources) echo 8192 ;;
        fuzz-local-http) echo 8400 ;;
        *) echo 4096 ;;
    esac
}

# Per-target options. The codec must never allocate far beyond its input: one allocation over
# 16 MiB for an input of at most 4 KiB is a finding (-malloc_limit_mb), not a slow run.
extra_flags() {
    case "$1" in
        fuzz-codec) echo -malloc_limit_mb=16 ;;
    esac
}

# The Swift runtime's own crash reporter gets in the way of ASan's report and libFuzzer's artifact.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

if [ $build = 1 ]; then
    for target in "${selected[@]}"; do
        echo "== building $target"
        # -sanitize=fuzzer on every module: the libraries need the coverage instrumentation too.
        # lld: gold fails on the sanitizer runtime's symbols.
        HUBAGENT_FUZZ=1 swift build -c release --package-path "$root" --scratch-path "$scratch" --product "$target" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
    done
fi

failed=0
summary=()
for target in "${selected[@]}"; do
    binary="$scratch/release/$target"
    work="$scratch/campaign/$target"
    committed="$here/corpus/$target"
    mkdir -p "$work/corpus" "$committed"
    log="$work/last.log"
    before=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
    echo "== $target: ${seconds}s, max_len $(max_len "$target")"
    dict=()
    [ -f "$here/dict/$target.dict" ] && dict=(-dict="$here/dict/$target.dict")
    status=0
    # shellcheck disable=SC2046
    "$binary" "${dict[@]}" $(extra_flags "$target") -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$committed" >"$log" 2>&1 || status=$?
    after=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
    crashes=$((after - before))
    if [ $status != 0 ]; then
        failed=1
        [ $crashes -gt 0 ] || crashes=1
        echo "   FAILED (exit $status); the report:"
        grep -E 'Fatal error|ERROR: |SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/   /'
    fi
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
    line=$(printf '%-17s execs %-10s exec/s %-7s cov %-6s ft %-7s corpus %-12s crashes %s' "$target" \
        "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$crashes")
    echo "   $line"
    summary+=("$line")
    if [ $update = 1 ] && [ $status = 0 ]; then
        # The smallest set of inputs that covers every edge reached so far (hit counts ignored,
        # which keeps the committed corpus at a few hundred files); the seeds always stay.
        merged=$(mktemp -d)
        "$binary" -set_cover_merge=1 -use_counters=0 -max_len="$(max_len "$target")" "$merged" "$committed" "$work/corpus" \
            >"$work/merge.log" 2>&1
        find "$committed" -type f ! -name 'seed-*' -delete
        seeds=$(cd "$committed" && sha1sum seed-* 2>/dev/null | cut -d' ' -f1)
        for file in "$merged"/*; do
            grep -qx "$(basename "$file")" <<<"$seeds" || cp "$file" "$committed/"
        done
        rm -rf "$merged"
        echo "   committed corpus: $(ls "$committed" | wc -l) files, $(du -sk --apparent-size "$committed" | cut -f1) KiB"
    fi
done

echo
echo "== summary (${seconds}s per target; corpus is files/bytes)"
printf '%s\n' "${summary[@]}"
exit $failed
