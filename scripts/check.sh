#!/bin/bash
# `make check`: the UAPI header check, then the unit, fuzz, VM, package and system test suites;
# ends with a plain "N passed, M failed" line and fails if anything failed.
#
#   scripts/check.sh [--header-only]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/meson}
KOUT=${KOUT:-build/kernel}
export HIB_KERNEL=${HIB_KERNEL:-$(realpath -m "$KOUT/bzImage")}

header_ok=1
echo "== UAPI header: include/uapi/linux/hibernate.h vs the patched kernel's ($KOUT/hibernate.h)"
if [ ! -f "$KOUT/hibernate.h" ]; then
	echo "FAIL: $KOUT/hibernate.h does not exist: build-kernel.sh copies the patched" \
		"tree's include/uapi/linux/hibernate.h there (run make kernel)"
	header_ok=0
elif cmp include/uapi/linux/hibernate.h "$KOUT/hibernate.h"; then
	echo "ok: byte-identical"
else
	echo "FAIL: include/uapi/linux/hibernate.h differs from the kernel series' copy:"
	diff -u include/uapi/linux/hibernate.h "$KOUT/hibernate.h" | head -n 60
	header_ok=0
fi
if [ "${1:-}" = --header-only ]; then
	[ $header_ok = 1 ]
	exit
fi

echo "== meson test (suites unit, fuzz, vm, pkg and system; kernel $HIB_KERNEL)"
meson test -C "$BUILD" --print-errorlogs --suite unit --suite fuzz --suite vm --suite pkg --suite system
rc=$?

# Count from meson's own log, plus the header check.
read -r pass fail skip < <(/usr/bin/python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
try:
    with open(sys.argv[1]) as log:
        for line in log:
            r = json.loads(line).get('result')
            if r in ('OK', 'EXPECTEDFAIL'):
                p += 1
            elif r == 'SKIP':
                s += 1
            else:
                f += 1
except OSError:
    f += 1
print(p, f, s)
PY
)
if [ $header_ok = 1 ]; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi
[ "$rc" = 0 ] || [ "$fail" -gt 0 ] || fail=1
echo
echo "VM console logs: build/vm-logs/"
[ "$skip" = 0 ] || echo "($skip skipped)"
[ $header_ok = 1 ] || echo "FAIL: UAPI header mismatch (see above)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
