#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/run-pipebench.sh: the write path before and after, in one run (bench/README.md,
# "Write path on the host").  Builds bench/pipebench of this tree and of BASE (a git
# revision, default main; a copy of this pipebench.c is built against it with
# -DPIPEBENCH_NO_STATS when it has none), then runs them interleaved, REPS times each:
#
#   bench/run-pipebench.sh [BASE]
#
# Environment: PB_TARGET (a file or block device, default /var/tmp/pipebench.img; a block
# device is overwritten), PB_MIB (300), PB_REPS (3), PB_ARGS (more pipebench options, e.g.
# --key), PB_EMU=1 to run both under qemu-x86_64 -cpu max (user-mode TCG: the CPU cost as an
# emulated guest sees it; Debian package qemu-user), PB_BUILD (build/pipebench).
set -euo pipefail

base=${1:-main}
src=$(cd "$(dirname "$0")/.." && pwd)
out=${PB_BUILD:-$src/build/pipebench}
target=${PB_TARGET:-/var/tmp/pipebench.img}
mib=${PB_MIB:-300}
reps=${PB_REPS:-3}
emu=()
[ "${PB_EMU:-0}" = 1 ] && emu=(qemu-x86_64 -cpu max)

mkdir -p "$out"
if [ ! -d "$out/base-src" ]; then
	git -C "$src" worktree add --detach "$out/base-src" "$base" >/dev/null
else
	git -C "$out/base-src" checkout -q --detach "$base"
fi
if ! grep -q pipebench "$out/base-src/bench/meson.build"; then
	cp "$src/bench/pipebench.c" "$out/base-src/bench/"
	cat >> "$out/base-src/bench/meson.build" <<'EOM'
pipebench = executable('pipebench', 'pipebench.c', c_args : ['-DPIPEBENCH_NO_STATS'],
	dependencies : libhibernate_dep, install : false)
EOM
fi
for t in base:"$out/base-src" new:"$src"; do
	name=${t%%:*} dir=${t#*:}
	[ -d "$out/$name" ] || nice -n 10 meson setup -Dstatic-deps=true "$out/$name" "$dir" >/dev/null
	nice -n 10 ninja -C "$out/$name" bench/pipebench >/dev/null
done
echo "base=$(git -C "$out/base-src" rev-parse --short HEAD) new=$(git -C "$src" rev-parse --short HEAD)" \
     "target=$target mib=$mib reps=$reps emu=${PB_EMU:-0} args=${PB_ARGS:-}"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$reps"); do
	for name in base new; do
		# shellcheck disable=SC2086
		"${emu[@]}" "$out/$name/bench/pipebench" --target "$target" --mib "$mib" --reps 1 \
			${PB_ARGS:-} | sed -n "s/^PIPEBENCH rep=0 /$name rep=$i /p"
	done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
