# portwatch: `make` builds ./portwatch; see README.md for the other targets.

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
	$(addsuffix :$(FOREIGN),libbpf-dev libelf-dev zlib1g-dev libzstd-dev)
ifneq ($(or $(MAKECMDGOALS),all),$(filter deps clean,$(MAKECMDGOALS)))
ifeq ($(and $(shell command -v $(CC)),$(wildcard /usr/lib/$(TRIPLET_$(ARCH))/pkgconfig/libbpf.pc)),)
$(error $(CC) or libbpf-dev:$(FOREIGN) missing: a cross build needs `make deps ARCH=$(ARCH)` (as root) first)
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
VERSION := 0.1.0
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

# Static builds have no /metrics: Debian ships libmicrohttpd.a but not the
# static TLS libraries it needs.
ifeq ($(STATIC),1)
LIBS := libbpf libelf
CFLAGS += -DPW_NO_METRICS
LDFLAGS += -static
LDLIBS += $(shell $(PKG_CONFIG) --static --libs $(LIBS)) -lzstd
else
LIBS := libbpf libmicrohttpd libelf
LDLIBS += $(shell $(PKG_CONFIG) --libs $(LIBS))
endif

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/portwatch.o,$(USER_OBJS))
SKEL := $(OUTPUT)/portwatch.skel.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TOOL_BINS := $(OUTPUT)/tests/trigger $(OUTPUT)/tests/httpd $(OUTPUT)/tests/fetcher

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
FORCE:
.PHONY: FORCE all clean deps run test unit integration install uninstall tools vmtest bench

all: $(BIN)

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/portwatch.bpf.o: bpf/portwatch.bpf.c bpf/portwatch.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(OUTPUT)/portwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name portwatch_bpf > $@

# Every userspace object may include the skeleton; order-only keeps -MMD exact.
$(OUTPUT)/%.o: user/%.c $(OUTPUT)/build-flags | $(OUTPUT) $(SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Rebuild when the flags change (STATIC=1 and back).
BUILD_FLAGS := $(CFLAGS) $(LDFLAGS) $(LDLIBS)
$(OUTPUT)/build-flags: FORCE | $(OUTPUT)
	$(Q)echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(BIN): $(USER_OBJS) $(OUTPUT)/build-flags
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(USER_OBJS) $(LDLIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

# a libcurl client not named curl (tests/workload.sh)
$(OUTPUT)/tests/fetcher: tests/fetcher.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libcurl) -o $@

$(OUTPUT)/tests/%: tests/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $< $(LDFLAGS) -pthread -o $@

tools: $(TOOL_BINS)

# Debian/Ubuntu packages for building (first line) and testing (second).
DEPS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev \
	libmicrohttpd-dev pkg-config gcc make
TEST_DEPS := libcmocka-dev curl jq iproute2 procps util-linux prometheus libcurl4-openssl-dev golang-go python3 nodejs \
	openjdk-17-jdk-headless \
	qemu-system-x86 qemu-system-arm busybox-static cpio

deps:
	$(Q)if [ -n "$(FOREIGN)" ] && ! dpkg --print-foreign-architectures | grep -qx '$(FOREIGN)'; then \
		echo "dpkg --add-architecture $(FOREIGN)"; dpkg --add-architecture $(FOREIGN); \
	fi
	$(Q)missing=$$(for p in $(DEPS) $(TEST_DEPS) $(CROSS_DEPS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get -o DPkg::Lock::Timeout=300 update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing >/dev/null; \
	fi

run: deps all
	./portwatch

test: deps all $(UNIT_BINS) $(TOOL_BINS)
	$(Q)tests/run.sh

# Kernel matrix only: Debian's kernels in QEMU (tests/vm/run.sh; also part of
# `make test`). It builds its own static portwatch in $(OUTPUT)/static, and
# for arm64 kernels runs `make deps ARCH=arm64` and cross-builds in
# $(OUTPUT)/arm64.
vmtest: deps all $(TOOL_BINS)
	$(Q)tests/vm/run.sh

# Benchmark, never a pass/fail timed test (bench/run.sh; README "Performance").
# Scale with BENCH_PAIRS, BENCH_SECONDS, ... (listed atop bench/run.sh);
# BENCH_SMOKE=1 is the few-second version CI runs.
BENCH_BINS := $(OUTPUT)/bench/loadgen

$(OUTPUT)/bench/%: bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $< -pthread -o $@

bench: deps all $(BENCH_BINS)
	$(Q)command -v bpftrace >/dev/null || $(MAKE) --no-print-directory deps DEPS=bpftrace TEST_DEPS= || \
		echo "bench: bpftrace could not be installed; its row will say so"
	$(Q)OUTPUT=$(OUTPUT) PW="$${PW:-$(if $(filter /%,$(BIN)),$(BIN),./$(BIN))}" bench/run.sh

install: portwatch
	install -D -m 0755 portwatch $(DESTDIR)$(prefix)/sbin/portwatch

uninstall:
	rm -f $(DESTDIR)$(prefix)/sbin/portwatch

clean:
	rm -rf $(OUTPUT) $(BIN)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d)
