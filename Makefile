# portwatch: `make` builds ./portwatch; see docs/building.md for the other targets.

# The target architecture: the BPF side is built for it (vmlinux/<arch>,
# __TARGET_ARCH_<arch>); when it is not this machine's, `make ARCH=arm64`
# cross-builds a static program (no /metrics) into .output/<arch>/.
HOST_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ARCH ?= $(HOST_ARCH)
override ARCH := $(patsubst amd64,x86,$(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH))))
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error unsupported ARCH '$(ARCH)': portwatch builds for x86 and arm64)
endif
TRIPLET_x86 := x86_64-linux-gnu
TRIPLET_arm64 := aarch64-linux-gnu
DEB_ARCH_x86 := amd64
DEB_ARCH_arm64 := arm64
ifneq ($(ARCH),$(HOST_ARCH))
OUTPUT ?= .output/$(ARCH)
BIN ?= $(OUTPUT)/portwatch
CC := $(TRIPLET_$(ARCH))-gcc
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(TRIPLET_$(ARCH))/pkgconfig pkg-config
override STATIC := 1
# Debian's cross compiler and the target's libraries (dpkg multiarch)
FOREIGN := $(DEB_ARCH_$(ARCH))
CROSS_DEPS := gcc-$(subst _,-,$(TRIPLET_$(ARCH))) libc6-dev-$(FOREIGN)-cross \
	$(addsuffix :$(FOREIGN),libbpf-dev libelf-dev zlib1g-dev libzstd-dev libcap-ng-dev)
ifneq ($(or $(MAKECMDGOALS),all),$(filter deps clean,$(MAKECMDGOALS)))
ifeq ($(and $(shell command -v $(CC)),$(wildcard /usr/lib/$(TRIPLET_$(ARCH))/pkgconfig/libbpf.pc),$(wildcard /usr/lib/$(TRIPLET_$(ARCH))/pkgconfig/libcap-ng.pc)),)
$(error $(CC), libbpf-dev:$(FOREIGN) or libcap-ng-dev:$(FOREIGN) missing: a cross build needs `make deps ARCH=$(ARCH)` (as root) first)
endif
else
# deps and clean alone need no flags: the target's libraries may not be there yet
PKG_CONFIG := true
endif
endif
OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config
prefix ?= /usr/local
DESTDIR ?=
# The version is debian/changelog's (its first line, `portwatch (VERSION) ...`):
# the package needs it there, so it is kept there only. `dch -v X.Y.Z` bumps it.
VERSION := $(shell sed -n '1s/^portwatch (\([^ ]*\)) .*/\1/p' debian/changelog)
ifeq ($(VERSION),)
$(error no version: debian/changelog must start with "portwatch (VERSION) ...")
endif
# The program; a second build (e.g. the static one for the VM tests) can go
# elsewhere with OUTPUT=... BIN=...
BIN ?= portwatch

VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
LDFLAGS += -pthread
CFLAGS += -std=gnu11 -pthread -Wall -Wextra -Werror -MMD -MP -I$(OUTPUT) -Ibpf -Iuser \
	  -DPORTWATCH_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I$(OUTPUT) -Ibpf -Ivmlinux/$(ARCH)

# Sanitizers: SAN=1 builds with clang's AddressSanitizer and
# UndefinedBehaviorSanitizer (`make asan` does it in $(ASAN_OUT)).
ifeq ($(SAN),1)
override CC := $(CLANG)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
# SAN=thread: clang's ThreadSanitizer (`make tsan` does it in $(TSAN_OUT)).
ifeq ($(SAN),thread)
override CC := $(CLANG)
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

# Static builds have no /metrics: Debian ships libmicrohttpd.a but not the
# static TLS libraries it needs.
ifeq ($(STATIC),1)
LIBS := libbpf libcap-ng libelf zlib
CFLAGS += -DPW_NO_METRICS -DPW_NO_TOP
LDFLAGS += -static
LDLIBS += $(shell $(PKG_CONFIG) --static --libs $(LIBS)) -lzstd
else
LIBS := libbpf libmicrohttpd yaml-0.1 libcrypt gnutls libcap-ng libelf zlib ncursesw
LDLIBS += $(shell $(PKG_CONFIG) --libs $(LIBS))
endif

USER_SRCS := $(wildcard user/*.c)
ifeq ($(STATIC),1)
# no --top in the static build (PW_NO_TOP: top.c refuses it): no ncursesw
USER_SRCS := $(filter-out user/top_model.c user/top_screen.c,$(USER_SRCS))
endif
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/portwatch.o,$(USER_OBJS))
SKEL := $(OUTPUT)/portwatch.skel.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TOOL_BINS := $(OUTPUT)/tests/trigger $(OUTPUT)/tests/httpd $(OUTPUT)/tests/fetcher \
	     $(OUTPUT)/tests/failshim.so $(OUTPUT)/tests/hostile \
	     $(OUTPUT)/tests/modeprobe $(OUTPUT)/tests/modeprobe.bpf.o

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
FORCE:
.PHONY: FORCE all clean deps run test unit integration install uninstall tools vmtest bench deb \
	image asan tsan fuzz fuzz-bins test-bins

all: $(BIN)

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/portwatch.bpf.o: bpf/portwatch.bpf.c $(wildcard bpf/*.bpf.h) bpf/portwatch.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(OUTPUT)/portwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name portwatch_bpf > $@

# Every userspace object may include the skeleton; order-only keeps -MMD exact.
$(OUTPUT)/%.o: user/%.c $(OUTPUT)/build-flags | $(OUTPUT) $(SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Rebuild when the flags change (STATIC=1 and back).
BUILD_FLAGS := $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
$(OUTPUT)/build-flags: FORCE | $(OUTPUT)
	$(Q)echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(BIN): $(USER_OBJS) $(OUTPUT)/build-flags
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(USER_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

# a fault injector loaded with LD_PRELOAD (tests/robust.sh); never with the
# sanitizers: it goes into programs built without them too
$(OUTPUT)/tests/failshim.so: tests/failshim.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -fPIC -shared $< -ldl -o $@

# a libcurl client not named curl (tests/workload.sh)
$(OUTPUT)/tests/fetcher: tests/fetcher.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libcurl) -o $@

# which modes the host kernel allows, asked of the kernel (tests/lib.sh need_mode)
$(OUTPUT)/tests/modeprobe.bpf.o: tests/modeprobe.bpf.c $(VMLINUX) | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/tests/modeprobe: tests/modeprobe.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libbpf) -o $@

$(OUTPUT)/tests/%: tests/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $< $(LDFLAGS) -pthread -o $@

tools: $(TOOL_BINS)
test-bins: $(UNIT_BINS) $(TOOL_BINS)

# ASan+UBSan build of portwatch, the unit tests and the test tools, for
# tests/run.sh's sanitizer pass (PW=$(ASAN_OUT)/portwatch OUTPUT=$(ASAN_OUT)).
ASAN_OUT := .output/asan
asan:
	$(Q)$(MAKE) --no-print-directory SAN=1 OUTPUT=$(ASAN_OUT) BIN=$(ASAN_OUT)/portwatch \
		$(ASAN_OUT)/portwatch test-bins

# ThreadSanitizer build of the same, for tests/run.sh's TSan pass
# (PW=$(TSAN_OUT)/portwatch OUTPUT=$(TSAN_OUT)).
TSAN_OUT := .output/tsan
tsan:
	$(Q)$(MAKE) --no-print-directory SAN=thread OUTPUT=$(TSAN_OUT) BIN=$(TSAN_OUT)/portwatch \
		$(TSAN_OUT)/portwatch test-bins

# libFuzzer targets: every tests/fuzz/fuzz_NAME.c, linked with the user/
# objects built for it (ASan+UBSan, coverage), seeds in tests/fuzz/corpus/NAME.
# `make fuzz` runs each for FUZZ_SECONDS (tests/fuzz/run.sh; make test too).
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_OBJS := $(patsubst $(OUTPUT)/%.o,$(FUZZ_OUT)/%.o,$(LIB_OBJS))
FUZZ_CFLAGS := -g -O1 -std=gnu11 -pthread -Wall -Wextra -Werror -I$(OUTPUT) -Ibpf -Iuser \
	-DPORTWATCH_VERSION='"$(VERSION)"' -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer

$(FUZZ_OUT):
	$(Q)mkdir -p $@

$(FUZZ_OUT)/%.o: user/%.c | $(FUZZ_OUT) $(SKEL)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) $(LDLIBS) -ljson-c -o $@

# tests/fuzz/record.sh's recorder of the census seeds
$(FUZZ_OUT)/record_diag: tests/fuzz/record_diag.c tests/fuzz/census_input.h | $(FUZZ_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

fuzz-bins: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_LIB_OBJS)

FUZZ_SECONDS ?= 15
fuzz: test-deps $(FUZZ_BINS)
	$(Q)OUTPUT=$(OUTPUT) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# Debian/Ubuntu packages, installed by the target that needs them (apt-get,
# only those missing): building and running (`make`, `make run`), and what
# each other target adds. `make test` installs them all.
DEPS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev \
	libmicrohttpd-dev libyaml-dev libcrypt-dev libgnutls28-dev libcap-ng-dev libncurses-dev \
	pkg-config gcc make
# the kernel matrix: QEMU, the initramfs, its checks; the test tools (fetcher: libcurl)
VM_DEPS := qemu-system-x86 qemu-system-arm busybox-static cpio jq libcurl4-openssl-dev
# the benchmark (bpftrace is tried apart: its row says when it is missing)
BENCH_DEPS := curl jq iproute2 libcurl4-openssl-dev
DEB_DEPS := dpkg-dev debhelper
IMAGE_DEPS := umoci
TEST_DEPS := libcmocka-dev curl jq iproute2 procps util-linux prometheus tmux \
	libcurl4-openssl-dev golang-go nodejs openjdk-17-jdk-headless \
	openssl python3 python3-yaml apache2-utils \
	$(VM_DEPS) $(DEB_DEPS) $(IMAGE_DEPS) lintian git groff man-db bash-completion systemd strace \
	runc libclang-rt-dev libjson-c-dev

# install_missing PACKAGES: apt-get install those not installed (nothing, and
# no root needed, when all are)
define install_missing
	$(Q)missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get -o DPkg::Lock::Timeout=300 update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: test-deps vm-deps bench-deps deb-deps image-deps
deps:
	$(Q)if [ -n "$(FOREIGN)" ] && ! dpkg --print-foreign-architectures | grep -qx '$(FOREIGN)'; then \
		echo "dpkg --add-architecture $(FOREIGN)"; dpkg --add-architecture $(FOREIGN); \
	fi
	$(call install_missing,$(DEPS) $(CROSS_DEPS))
test-deps: deps
	$(call install_missing,$(TEST_DEPS))
vm-deps: deps
	$(call install_missing,$(VM_DEPS))
bench-deps: deps
	$(call install_missing,$(BENCH_DEPS))
deb-deps: deps
	$(call install_missing,$(DEB_DEPS))
image-deps:
	$(call install_missing,$(IMAGE_DEPS))

run: deps all
	./portwatch

# Also the image (tests/image.sh), the fuzz targets' short runs and the
# sanitizer passes (tests/run.sh: ASan+UBSan, then TSan).
test: test-deps all image $(UNIT_BINS) $(TOOL_BINS) fuzz-bins asan tsan
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh

# Kernel matrix only: Debian's kernels in QEMU (tests/vm/run.sh; also part of
# `make test`). It builds its own static portwatch in $(OUTPUT)/static, and
# for arm64 kernels runs `make deps ARCH=arm64` and cross-builds in
# $(OUTPUT)/arm64.
vmtest: vm-deps all $(TOOL_BINS)
	$(Q)tests/vm/run.sh

# Benchmark, never a pass/fail timed test (bench/run.sh; docs/performance.md).
# Scale with BENCH_PAIRS, BENCH_SECONDS, ... (listed atop bench/run.sh);
# BENCH_SMOKE=1 is the few-second version CI runs.
BENCH_BINS := $(OUTPUT)/bench/loadgen $(OUTPUT)/bench/opsgen $(OUTPUT)/bench/soakgen $(OUTPUT)/bench/soakmon

$(OUTPUT)/bench/%: bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $< -pthread -o $@

$(OUTPUT)/bench/soakgen: bench/bench.h

# the soak's observer: scrapes with libcurl, counts map entries with libbpf
$(OUTPUT)/bench/soakmon: bench/soakmon.c bench/bench.h | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libbpf libcurl) -o $@

bench: bench-deps all $(BENCH_BINS)
	$(Q)command -v bpftrace >/dev/null || $(MAKE) --no-print-directory deps DEPS=bpftrace || \
		echo "bench: bpftrace could not be installed; its row will say so"
	$(Q)OUTPUT=$(OUTPUT) PW="$${PW:-$(if $(filter /%,$(BIN)),$(BIN),./$(BIN))}" bench/run.sh

# The OCI image (docs/kubernetes.md, "Container image"): the dynamic portwatch (with
# /metrics) and exactly its run-time closure: the shared libraries ldd names,
# the loader, and the copyright files of the Debian packages they come from.
# Nothing else is opened at run time (checked with strace: /etc/gnutls/config
# and /etc/localtime are optional, absent means defaults and UTC). Built with
# umoci from an empty layout, nothing pulled; saved as an OCI archive that
# skopeo pushes (oci-archive:$(IMAGE_ARCHIVE)).
IMAGE_NAME ?= portwatch
IMAGE_DIR := $(OUTPUT)/image
IMAGE_ARCHIVE := $(OUTPUT)/$(IMAGE_NAME)-$(VERSION).oci.tar
IMAGE_REVISION = $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_CREATED = $(shell date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%Y-%m-%dT%H:%M:%SZ)

image: image-deps $(IMAGE_ARCHIVE)

$(IMAGE_ARCHIVE): $(BIN) Makefile
	$(Q)if [ "$(STATIC)" = 1 ] || [ "$(ARCH)" != "$(HOST_ARCH)" ]; then \
		echo "make image: builds the native dynamic portwatch (with /metrics); not with STATIC=1 or ARCH=$(ARCH)"; exit 2; fi
	$(Q)command -v umoci >/dev/null || { echo "make image: umoci missing: sudo make image-deps"; exit 1; }
	$(call msg,IMAGE,$@)
	$(Q)rm -rf $(IMAGE_DIR) && umoci init --layout $(IMAGE_DIR)/oci && \
		umoci new --image $(IMAGE_DIR)/oci:$(VERSION) && \
		umoci unpack --image $(IMAGE_DIR)/oci:$(VERSION) $(IMAGE_DIR)/bundle >/dev/null
	$(Q)cd $(IMAGE_DIR)/bundle/rootfs && mkdir -p usr/sbin proc sys dev etc tmp && chmod 1777 tmp
	$(Q)install -m 0755 $(BIN) $(IMAGE_DIR)/bundle/rootfs/usr/sbin/portwatch
	$(Q)libs=$$(ldd $(BIN) | awk '$$2 == "=>" && $$3 ~ /^\// {print $$3} $$1 ~ /^\// {print $$1}'); \
	[ -n "$$libs" ] || { echo "make image: ldd found no libraries in $(BIN)"; exit 1; }; \
	for f in $$libs; do \
		install -D -m 0644 "$$(readlink -f $$f)" "$(IMAGE_DIR)/bundle/rootfs$$f" || exit 1; \
		pkg=$$({ dpkg -S "$$f" || dpkg -S "$$(readlink -f $$f)"; } 2>/dev/null | head -n 1 | cut -d: -f1); \
		[ -z "$$pkg" ] || [ ! -f /usr/share/doc/$$pkg/copyright ] || \
			install -D -m 0644 /usr/share/doc/$$pkg/copyright \
				$(IMAGE_DIR)/bundle/rootfs/usr/share/doc/$$pkg/copyright; \
	done; \
	chmod 0755 $(IMAGE_DIR)/bundle/rootfs/lib64/ld-linux-*.so.* 2>/dev/null; true
	$(Q)umoci repack --image $(IMAGE_DIR)/oci:$(VERSION) --history.created_by "make image" \
		$(IMAGE_DIR)/bundle
	$(Q)umoci config --image $(IMAGE_DIR)/oci:$(VERSION) \
		--os linux --architecture $(DEB_ARCH_$(ARCH)) --created $(IMAGE_CREATED) \
		--config.entrypoint /usr/sbin/portwatch \
		--config.cmd --quiet --config.cmd --listen=:10099 \
		--config.exposedports 10099/tcp \
		$(foreach l,org.opencontainers.image.version=$(VERSION) \
			org.opencontainers.image.title=portwatch \
			org.opencontainers.image.description=traces_connect()_failing_with_EADDRNOTAVAIL \
			org.opencontainers.image.licenses=GPL-2.0 \
			org.opencontainers.image.revision=$(IMAGE_REVISION) \
			org.opencontainers.image.created=$(IMAGE_CREATED), \
			--config.label '$(subst _, ,$(l))' --manifest.annotation '$(subst _, ,$(l))')
	$(Q)umoci gc --layout $(IMAGE_DIR)/oci
	$(Q)tar -C $(IMAGE_DIR)/oci --sort=name --owner=0 --group=0 --numeric-owner \
		-cf $@.tmp . && mv $@.tmp $@
	$(Q)rm -rf $(IMAGE_DIR)/bundle
	@echo "  image    $@ ($(IMAGE_NAME):$(VERSION), $$(du -h $@ | cut -f1))"

# The man page and bash completion come along; the systemd unit does not
# (deploy/portwatch.service names /usr/sbin/portwatch: the package installs it).
MAN_DIR := $(prefix)/share/man/man8
COMPLETION_DIR := $(prefix)/share/bash-completion/completions

install: portwatch
	install -D -m 0755 portwatch $(DESTDIR)$(prefix)/sbin/portwatch
	install -D -m 0644 deploy/portwatch.8 $(DESTDIR)$(MAN_DIR)/portwatch.8
	install -D -m 0644 deploy/portwatch.bash-completion $(DESTDIR)$(COMPLETION_DIR)/portwatch

uninstall:
	rm -f $(DESTDIR)$(prefix)/sbin/portwatch $(DESTDIR)$(MAN_DIR)/portwatch.8 \
		$(DESTDIR)$(COMPLETION_DIR)/portwatch

# The Debian package, built from a copy of this tree in $(OUTPUT)/deb/ (a
# package build writes next to its source tree and cleans it): the .deb ends
# up in $(OUTPUT)/deb/. Not the tests (they need root; see debian/rules).
DEB_DIR := $(OUTPUT)/deb
DEB_SRC := $(DEB_DIR)/portwatch-$(VERSION)
DEB := $(DEB_DIR)/portwatch_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb

deb: deb-deps
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	$(Q)tar -c --exclude-vcs --exclude=./.output --exclude=./$(OUTPUT) --exclude=./portwatch \
		--exclude=./tests/.cache . | tar -x -C $(DEB_SRC)
	$(Q)cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u OUTPUT -u BIN -u STATIC \
		dpkg-buildpackage -b -us -uc $(if $(V),,>../build.log 2>&1) || \
		{ tail -n 30 $(DEB_DIR)/build.log; echo "make deb: dpkg-buildpackage failed; log: $(DEB_DIR)/build.log"; exit 1; }
	$(Q)echo "  DEB      $(DEB)"

clean:
	rm -rf $(OUTPUT) $(BIN)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(FUZZ_OUT)/*.d)
