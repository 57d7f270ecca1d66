#!/bin/bash
# Build the policy parser fuzzer with clang -fsanitize=fuzzer,address and run it.
#
#   tests/fuzz/run-fuzz.sh SECONDS [BUILD_DIR]
#
# Without clang or libFuzzer it says so and exits 77 (meson: skipped); `make check` then still
# replays the seed corpus through the gcc-built fuzz-policy-replay unit test.
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$src/build/fuzz}
CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run-fuzz: $CC not found: fuzzing skipped"
	exit 77
fi
mkdir -p "$out/corpus"
if ! "$CC" -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
	-I"$src/libhibernate" -I"$src/include/uapi" \
	"$src/tests/fuzz/fuzz-policy.c" "$src/libhibernate/policy.c" \
	"$src/libhibernate/proc.c" "$src/libhibernate/log.c" "$src/libhibernate/error.c" \
	-o "$out/fuzz-policy" 2>"$out/build.log"; then
	cat "$out/build.log"
	echo "run-fuzz: $CC cannot build with -fsanitize=fuzzer (libFuzzer missing?): skipped"
	exit 77
fi
# The seed corpus is read-only input; new inputs go to $out/corpus.
exec "$out/fuzz-policy" -max_total_time="$secs" -max_len=70000 -timeout=10 \
	-print_final_stats=1 "$out/corpus" "$src/tests/fuzz/corpus/policy"
