#!/bin/bash
# Build a fuzzer with clang -fsanitize=fuzzer,address and run it: the policy parser (default)
# or the image reader.
#
#   tests/fuzz/run-fuzz.sh SECONDS [BUILD_DIR [policy|image]]
#
# Without clang or libFuzzer it says so and exits 77 (meson: skipped); `make check` then still
# replays the seed corpus through the gcc-built fuzz-policy-replay unit test.
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$src/build/fuzz}
target=${3:-policy}
case $target in
policy)
	srcs="policy.c proc.c log.c error.c util.c"
	libs=""
	;;
image)
	srcs="image-reader.c image-format.c image-crypto.c chunk.c csum.c log.c error.c util.c"
	libs="-llz4 -lxxhash -lsodium"
	;;
*)
	echo "run-fuzz: unknown target $target (policy, image)" >&2
	exit 2
	;;
esac
CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run-fuzz: $CC not found: fuzzing skipped"
	exit 77
fi
out=$out/$target
mkdir -p "$out/corpus"
# A compiler without libFuzzer skips; a target that does not build is a failure (a source
# file missing from the list above, say), not a skip.
probe=$out/probe.c
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	> "$probe"
if ! "$CC" -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null; then
	echo "run-fuzz: $CC cannot build with -fsanitize=fuzzer (libFuzzer missing?): skipped"
	exit 77
fi
# shellcheck disable=SC2086
if ! "$CC" -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 \
	-I"$src/libhibernate" -I"$src/include/uapi" \
	"$src/tests/fuzz/fuzz-$target.c" $(printf "$src/libhibernate/%s " $srcs) $libs \
	-o "$out/fuzz-$target" 2>"$out/build.log"; then
	cat "$out/build.log"
	echo "run-fuzz: fuzz-$target does not build"
	exit 1
fi
# The seed corpus is read-only input; new inputs go to $out/corpus.
exec "$out/fuzz-$target" -max_total_time="$secs" -max_len=70000 -timeout=10 \
	-print_final_stats=1 "$out/corpus" "$src/tests/fuzz/corpus/$target"
