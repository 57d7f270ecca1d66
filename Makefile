# Top-level entry points; see README.md.
#
#   make demo    hibernate a workload in the VM, power off, boot again, resume it
#   make check   unit tests, VM tests, package and system tests and the UAPI header check
#
# Everything runs as root on Debian 12; `make deps` installs what is missing.

BUILD   ?= build/meson
KOUT    ?= build/kernel
KERNEL  ?= $(KOUT)/bzImage
# The same series without lockdep & co. (build-kernel.sh's release flavor): vm-stream-880.
KOUT_RELEASE ?= build/kernel-release
PYTHON  ?= /usr/bin/python3

export HIB_KERNEL := $(abspath $(KERNEL))

.PHONY: all deps kernel kernel-deb build demo check check-header check-series bench clean fuzz deb

all: build

deps:
	scripts/install-deps.sh

# One kernel build at a time: wait for one already running (build-kernel.sh, or
# build-kernel-deb.sh on the same source tree).  Both flavors (each cached by the hash of its
# inputs).
kernel: deps
	@while pgrep -f 'build-kerne[l](-deb)?[.]sh' >/dev/null; do \
		echo "make: a kernel build is already running; waiting"; sleep 20; \
	done
	kernel-patches/build-kernel.sh $(KOUT)
	HIB_KERNEL_FLAVOR=release kernel-patches/build-kernel.sh $(KOUT_RELEASE)

# The series as Debian packages (make bindeb-pkg): linux-image-6.12.N-hibernate_*.deb and
# linux-headers-*.deb into $(KERNEL_DEB_DIR), cached by their inputs.  KERNEL_DEB_CONFIG: test
# (the default: what the package test installs and the VM boots), localmodconfig (this
# machine's /boot/config-$$(uname -r) trimmed to the loaded modules) or a config file; the
# series' options (kernel-patches/machine.config) go on top of the last two.  README.md, "A
# real machine", has the steps.
KERNEL_DEB_CONFIG ?= test
KERNEL_DEB_DIR    ?= build/kernel-deb
# (build-kernel-deb.sh waits for another kernel build itself.)
kernel-deb: deps
	kernel-patches/build-kernel-deb.sh --config $(KERNEL_DEB_CONFIG) --out $(KERNEL_DEB_DIR)

# The build the tests run is a test build: fault injection compiled in (libhibernate/fault.h).
# What users install (meson install, the packages) is built without it.  static-deps: lz4,
# xxhash, libsodium and json-c linked statically, so that the VM guests' initramfs (tmpfs
# that every snapshot copies) holds what it always held; the package links them shared.
MESON_OPTS ?= -Dfault-injection=true -Dstatic-deps=true

# Reconfigure every time: the vm-kselftest test exists only once the kernel
# build exported its selftests (build/kernel/selftests).
build: deps
	@if [ -f $(BUILD)/build.ninja ]; then \
		meson setup --reconfigure $(MESON_OPTS) $(BUILD) >$(BUILD)/reconfigure.log 2>&1 || \
			{ cat $(BUILD)/reconfigure.log; exit 1; }; \
	else \
		meson setup $(MESON_OPTS) $(BUILD); \
	fi
	ninja -C $(BUILD)

# The hibernate summary table (hibernatectl's own lines, printed before the power-off) and
# the "restoring" line of boot 2 are shown too.
DEMO_SHOW := ^(DEMO|HIBTEST|hibernation image|  [a-zA-Z]|powering off|restoring|resumed)

demo: deps kernel build
	$(PYTHON) tests/vm/vmtest.py --kernel $(KERNEL) \
		--bin $(BUILD)/hibernatectl/hibernatectl \
		--bin $(BUILD)/tests/vm/hibworkload \
		--bin $(BUILD)/tests/vm/hibstate \
		--workdir $(BUILD)/vm-work \
		--scenario tests/vm/scenarios/demo.sh --show '$(DEMO_SHOW)'

check: deps kernel build
	BUILD=$(BUILD) KOUT=$(KOUT) scripts/check.sh

# The policy parser and the image reader under libFuzzer for a minute each (clang; `make
# check` runs each for 10 s).
fuzz:
	tests/fuzz/run-fuzz.sh 60 $(BUILD)/fuzz policy
	tests/fuzz/run-fuzz.sh 60 $(BUILD)/fuzz image

# Every patch of the series builds (both flavors, incrementally) and is checkpatch-clean; slow
# (a first full build per flavor), so not part of `make check`: run it before a series change
# lands.
check-series: deps
	kernel-patches/check-series.sh

# The system tests alone (tests/system/, suite system, in `make check` too): the Debian system
# on LVM hibernated with `systemctl hibernate` and resumed by its initramfs, initramfs-tools'
# then dracut's, and a power cut in the middle of a merge-back, completed by the initramfs.
# They run `make deb` and `make kernel-deb` themselves (system-test.py).
.PHONY: check-system
check-system: deps build
	meson test -C $(BUILD) --print-errorlogs --suite system

check-header:
	BUILD=$(BUILD) KOUT=$(KOUT) scripts/check.sh --header-only

bench: deps kernel build
	@if [ -x bench/run-bench.sh ]; then \
		bench/run-bench.sh; \
	else \
		echo "make bench: bench/run-bench.sh does not exist yet" >&2; exit 1; \
	fi

clean:
	rm -rf $(BUILD) build/vm-logs build/vm-work

# The Debian package of the tools (debian/): the committed tree (git archive HEAD, so the work
# tree stays clean and nothing untracked gets in) built with dpkg-buildpackage -b into
# build/deb/; lintian runs on the result.  tests/pkg/install-test.sh installs it in a Debian 12
# chroot.
DEB_DIR ?= build/deb
deb: deps
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git archive --format=tar HEAD | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && nice -n 10 dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -n 60 ../build.log; exit 1; }
	lintian --info --display-info --pedantic $(DEB_DIR)/*.changes | tee $(DEB_DIR)/lintian.log
	@ls -l $(DEB_DIR)/*.deb
