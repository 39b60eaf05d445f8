# SPDX-License-Identifier: GPL-2.0
# netoops: build the module, the test kernel and run the tests.
#
#   make                   build netoops.ko against the test kernel (built and cached on first use)
#   make KDIR=<tree>       build netoops.ko against your own Rust-enabled kernel tree
#   make install [KDIR=<tree>] [INSTALL_MOD_PATH=<root>]
#                          install netoops.ko into /lib/modules/<release>/updates (signed when the
#                          tree signs modules), then depmod; dkms: see dkms.conf
#   make module-debug      build build/module-debug/netoops.ko against the debug test kernel
#                          (lockdep, KASAN, ...; built and cached on first use)
#   make check             all tests: userspace crates, fuzzing, QEMU scenarios
#   make lint              the kernel's Rust checks on the module: rustfmt with the kernel tree's
#                          .rustfmt.toml, clippy (make CLIPPY=1) without a warning
#   make demo              boot a VM, load netoops, crash it, show what netoops saw
#   make bench-loss        benchmark: full-log dumps arriving complete under random and bursty
#                          frame loss, version 1 (copies) against version 2 (parity)
#   make bench-dump        benchmark: a 64 KiB log out of a panic, netoops against netconsole
#   make fuzz [FUZZ_SECONDS=3600]
#                          every fuzz target (codec decode and roundtrip, netoopsd's receive
#                          path) for FUZZ_SECONDS each; corpora grow under */fuzz/corpus/
#   make fleet-check       build (and boot, where it can) netoops on a matrix of kernels and configs
#                          (7.3, 7.2, config variants, Debian's cloud kernel, dkms); long
#   make kernel            only build (or reuse) the cached test kernel
#   make kernel-debug      only build (or reuse) the cached debug test kernel
#   make setup             only install the host packages and tools
#   make clean

SHELL := /bin/bash

# The toolchain the kernel and the module are built with (see qemu/toolchain.env).
KRUSTC        ?= /usr/bin/rustc
BINDGEN       ?= /opt/netoops-tools/bin/bindgen
LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
# clippy for `make CLIPPY=1`: Debian's, the one that matches KRUSTC (rustup's comes first on PATH).
CLIPPY_DRIVER ?= /usr/bin/clippy-driver
export LIBCLANG_PATH
KMAKE_VARS := RUSTC=$(KRUSTC) HOSTRUSTC=$(KRUSTC) BINDGEN=$(BINDGEN) CLIPPY_DRIVER=$(CLIPPY_DRIVER)

# Kbuild builds in the source directory: two builds there at once (two `make`s, `make check` and
# `make lint`) would write the same objects and both fail. Each build directory has a lock.
LOCKED = mkdir -p build && flock build/.netoops-build.lock

.PHONY: all module module-debug module-at install sign fleet-check setup kernel kernel-debug check demo bench-loss bench-dump fuzz clean

all: module

setup:
	@scripts/setup-host.sh

# Without KDIR: the cached test kernel, built first if needed, and the module with the test
# kernels' fault-injection hooks (NETOOPS_TEST_HOOKS=1, see Kbuild). With KDIR: that tree,
# checked, and no hooks.
ifeq ($(origin KDIR),undefined)
module: setup
	@kdir=$$(qemu/kernel.sh build) && RUSTC=$(KRUSTC) scripts/check-kdir.sh "$$kdir" && \
	  $(LOCKED) $(MAKE) -C "$$kdir" M="$(CURDIR)" $(KMAKE_VARS) NETOOPS_TEST_HOOKS=1 modules

install: module
	@kdir=$$(qemu/kernel.sh dir) && $(MAKE) -C "$$kdir" M="$(CURDIR)" $(KMAKE_VARS) modules_install
else
# Checked when the Makefile is read, so a wrong tree fails at once with one line.
# (the C compiler only when CC is given: the kernel's default is gcc, make's is cc)
kdir_problem := $(shell RUSTC=$(KRUSTC) $(if $(filter command line environment,$(origin CC)),CC=$(CC)) \
		  scripts/check-kdir.sh "$(KDIR)" 2>&1)
ifneq ($(kdir_problem),)
$(error $(kdir_problem))
endif
module:
	$(LOCKED) $(MAKE) -C "$(KDIR)" M="$(CURDIR)" $(KMAKE_VARS) modules

# modules_install puts an external module into /lib/modules/<release>/updates (under
# INSTALL_MOD_PATH if set), signs it when the tree has CONFIG_MODULE_SIG_ALL (with the tree's
# key, certs/signing_key.pem by default), and runs depmod.
install: module
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" $(KMAKE_VARS) modules_install

# make sign KDIR=<tree>: netoops.ko signed with the tree's own module-signing key, where the tree
# signs modules and has its private key (a kernel built here; distribution headers never carry
# it): what dkms.conf's build runs, since dkms installs the built file itself. Already signed:
# nothing to do (a second signature would hide the first from the kernel).
sign_key = $(patsubst "%",%,$(shell sed -n 's/^CONFIG_MODULE_SIG_KEY=//p' "$(KDIR)/.config"))
sign_hash = $(patsubst "%",%,$(shell sed -n 's/^CONFIG_MODULE_SIG_HASH=//p' "$(KDIR)/.config"))
sign: module
	@if ! grep -q '^CONFIG_MODULE_SIG=y' "$(KDIR)/.config"; then \
	  echo "netoops.ko: $(KDIR) does not sign modules: not signed"; \
	elif tail -c 28 netoops.ko | grep -q '~Module signature appended~'; then \
	  echo "netoops.ko: already signed"; \
	elif [ -f "$(KDIR)/$(sign_key)" ] && [ -f "$(KDIR)/certs/signing_key.x509" ]; then \
	  "$(KDIR)/scripts/sign-file" $(sign_hash) "$(KDIR)/$(sign_key)" "$(KDIR)/certs/signing_key.x509" netoops.ko && \
	  echo "netoops.ko: signed with $(KDIR)/$(sign_key) ($(sign_hash))"; \
	else \
	  echo "netoops.ko: $(KDIR) has no private signing key ($(sign_key)): not signed (sign it with your own, e.g. dkms's MOK key)"; \
	fi

# make module-at KDIR=<tree> MODULE_DIR=<dir>: netoops.ko built in <dir> (a copy of the sources,
# as module-debug below), so that builds against several trees do not share one output.
module-at:
	@test -n "$(MODULE_DIR)" || { echo "make module-at: MODULE_DIR=<dir> not given" >&2; exit 1; }
	@mkdir -p $(MODULE_DIR) && cp -a --parents $(MODULE_SOURCES) $(MODULE_DIR)/ && \
	  flock $(MODULE_DIR)/.netoops-build.lock \
	    $(MAKE) -C "$(KDIR)" M="$(abspath $(MODULE_DIR))" $(KMAKE_VARS) modules
endif

kernel: setup
	@qemu/kernel.sh build >/dev/null

kernel-debug: setup
	@qemu/kernel.sh --variant debug build >/dev/null

# The module against the debug kernel. Kbuild builds in the source directory, so a second kernel
# gets its own copy of what the module build reads (the crate's files, Kbuild, the bindgen inputs
# and flags script, and the sources of the shared no_std crates netoops.rs includes by #[path]),
# copied with their mtimes so that rebuilds stay incremental. The make variables (clang, LLVM=)
# come from qemu/kernel.sh.
MODULE_DEBUG := build/module-debug
MODULE_SOURCES = $(filter-out bindings_generated.rs,$(wildcard *.rs)) Kbuild bindings scripts \
		 codec/src frame/src

module-debug: setup
	@kdir=$$(qemu/kernel.sh --variant debug build) && RUSTC=$(KRUSTC) scripts/check-kdir.sh "$$kdir" && \
	  vars=$$(qemu/kernel.sh --variant debug make-vars) && \
	  mkdir -p $(MODULE_DEBUG) && cp -a --parents $(MODULE_SOURCES) $(MODULE_DEBUG)/ && \
	  env $$vars flock $(MODULE_DEBUG)/.netoops-build.lock \
	    $(MAKE) -C "$$kdir" M="$(CURDIR)/$(MODULE_DEBUG)" $$vars NETOOPS_TEST_HOOKS=1 modules

check: module module-debug
	@tests/check.sh

# The kernel's own Rust checks on the module (scripts/lint.sh; make check runs both as tests).
.PHONY: lint
lint: setup
	@scripts/lint.sh

demo: module
	@qemu/harness.py --demo

# The fleet matrix (tests/fleet_check.py): long, outside make check.
fleet-check: setup
	@scripts/setup-host.sh --fleet | grep -v 'already' || true
	@tests/fleet_check.py $(FLEET)

# Benchmark (figures, not a test): 64 KiB-log dumps complete under 1/10/30 % random and bursty frame
# loss; version 1 with 2 and 3 copies against version 2 with 50 % and 150 % parity.
bench-loss: module
	@tests/bench_loss.py

# Benchmark (figures, not a test): a 64 KiB log out of a panicking VM, netoops against netconsole,
# with a live and a dead link.
bench-dump: module
	@tests/bench_dump.py

# Long fuzzing (make check runs the decoder and the receive path for 30 s each): every target in turn.
FUZZ_SECONDS ?= 3600
fuzz:
	codec/fuzz/run.sh $(FUZZ_SECONDS) decode
	codec/fuzz/run.sh $(FUZZ_SECONDS) roundtrip
	netoopsd/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -f *.o *.ko *.mod *.mod.c *.mod.o .*.cmd modules.order Module.symvers bindings_generated.rs .*.d
	rm -rf .tmp_versions $(MODULE_DEBUG)
