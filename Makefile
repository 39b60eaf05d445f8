# SPDX-License-Identifier: GPL-2.0
# netoops: build the module, the test kernel and run the tests.
#
#   make                   build netoops.ko against the test kernel (built and cached on first use)
#   make KDIR=<tree>       build netoops.ko against your own Rust-enabled kernel tree
#   make module-debug      build build/module-debug/netoops.ko against the debug test kernel
#                          (lockdep, KASAN, ...; built and cached on first use)
#   make check             all tests: userspace crates, fuzzing, QEMU scenarios
#   make demo              boot a VM, load netoops, crash it, show what netoops saw
#   make bench-loss        benchmark: dumps arriving complete under frame loss
#   make bench-dump        benchmark: a 64 KiB log out of a panic, netoops against netconsole
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

.PHONY: all module module-debug setup kernel kernel-debug check demo bench-loss bench-dump clean

all: module

setup:
	@scripts/setup-host.sh

# Without KDIR: the cached test kernel, built first if needed, and the module with the test
# kernels' fault-injection hooks (NETOOPS_TEST_HOOKS=1, see Kbuild). With KDIR: that tree,
# checked, and no hooks.
ifeq ($(origin KDIR),undefined)
module: setup
	@kdir=$$(qemu/kernel.sh build) && scripts/check-kdir.sh "$$kdir" && \
	  $(MAKE) -C "$$kdir" M="$(CURDIR)" $(KMAKE_VARS) NETOOPS_TEST_HOOKS=1 modules
else
# Checked when the Makefile is read, so a wrong tree fails at once with one line.
kdir_problem := $(shell scripts/check-kdir.sh "$(KDIR)" 2>&1)
ifneq ($(kdir_problem),)
$(error $(kdir_problem))
endif
module:
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" $(KMAKE_VARS) modules
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
	@kdir=$$(qemu/kernel.sh --variant debug build) && scripts/check-kdir.sh "$$kdir" && \
	  vars=$$(qemu/kernel.sh --variant debug make-vars) && \
	  mkdir -p $(MODULE_DEBUG) && cp -a --parents $(MODULE_SOURCES) $(MODULE_DEBUG)/ && \
	  env $$vars $(MAKE) -C "$$kdir" M="$(CURDIR)/$(MODULE_DEBUG)" $$vars NETOOPS_TEST_HOOKS=1 modules

check: module module-debug
	@tests/check.sh

demo: module
	@qemu/harness.py --demo

# Benchmark (figures, not a test): complete dumps under 1 % and 10 % frame loss, 2 and 3 copies.
bench-loss: module
	@tests/bench_loss.py

# Benchmark (figures, not a test): a 64 KiB log out of a panicking VM, netoops against netconsole,
# with a live and a dead link.
bench-dump: module
	@tests/bench_dump.py

clean:
	rm -f *.o *.ko *.mod *.mod.c *.mod.o .*.cmd modules.order Module.symvers bindings_generated.rs .*.d
	rm -rf .tmp_versions $(MODULE_DEBUG)
