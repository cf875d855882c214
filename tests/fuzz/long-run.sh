#!/usr/bin/env bash
# long-run.sh - run fuzz targets one after another for a long time each and
# print one line of figures per target, for docs/security.md (issue 18).
#
#   tests/fuzz/long-run.sh [-s SECONDS] [-b BUILD] [-w WORK] TARGET...
#
# Defaults: 3600 s per target, build dir build-fuzz (configured here if
# missing), work dir var/fuzz-long. Each target starts from its seed corpus
# in tests/fuzz/corpus and keeps what it finds in WORK/TARGET/corpus, so a
# second run goes on where the first stopped. A crash leaves its input in
# WORK/TARGET/crash-* and the script goes on to the next target; it exits
# non-zero at the end if any target crashed. Runs under nice 19, so that the
# machine stays usable.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=3600 build=build-fuzz work=var/fuzz-long
while getopts s:b:w: o; do
	case $o in
	s) secs=$OPTARG ;;
	b) build=$OPTARG ;;
	w) work=$OPTARG ;;
	*) echo "usage: $0 [-s SECONDS] [-b BUILD] [-w WORK] TARGET..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-s SECONDS] [-b BUILD] [-w WORK] TARGET..." >&2; exit 2; }

if [ ! -f "$build/CMakeCache.txt" ]; then
	CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DYAGURA_FUZZ=ON \
		-DYAGURA_SANITIZE=ON -DYAGURA_TESTS=ON -DYAGURA_WEB=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "$@" >/dev/null

failed=0
printf '%-20s %6s %12s %7s %7s %7s %7s %6s %s\n' target seconds runs exec/s cov ft corpus rss_mb result
for t in "$@"; do
	d=$work/$t
	mkdir -p "$d/corpus"
	seed=tests/fuzz/corpus/${t#fuzz_}
	[ -d "$seed" ] && cp -n "$seed"/* "$d/corpus/" 2>/dev/null || true
	rc=0
	nice -n 19 "$build/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$d/" -rss_limit_mb=2048 "$d/corpus" >"$d/log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$d/log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$d/log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	units=$(find "$d/corpus" -type f | wc -l)
	result=ok
	if [ "$rc" -ne 0 ]; then
		result="crash (exit $rc): $(ls "$d"/crash-* "$d"/leak-* "$d"/timeout-* "$d"/oom-* 2>/dev/null | head -1 || true)"
		failed=1
	fi
	printf '%-20s %6s %12s %7s %7s %7s %7s %6s %s\n' "$t" "$secs" "${runs:-?}" "${eps:-?}" \
		"${cov:-?}" "${ft:-?}" "$units" "${rss:-?}" "$result"
done
exit $failed
