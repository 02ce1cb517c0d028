# shadowrev: one non-recursive Makefile.
#
#   make              build build/shadowrev
#   make check        unit, end-to-end and fuzz-corpus tests (ends with "N passed, N failed")
#   make asan         the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz         libFuzzer builds of the fuzz targets (FUZZ_SECONDS=n make fuzz-run runs them)
#   make bench        benchmarks against the peers (long; never part of check)
#   make stress       repeated kill -9 tests (long)
#   make install      PREFIX=/usr/local DESTDIR=
#
# WERROR=0 for packagers; SANITIZE=address,undefined for a sanitized build.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
BUILD ?= build
WERROR ?= 1
SANITIZE ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS := fuse3 libntfs-3g libcrypto libarchive libzstd libxml-2.0 sqlite3
deb_fuse3 := libfuse3-dev
deb_libntfs-3g := ntfs-3g-dev
deb_libcrypto := libssl-dev
deb_libarchive := libarchive-dev
deb_libzstd := libzstd-dev
deb_libxml-2.0 := libxml2-dev
deb_sqlite3 := libsqlite3-dev

NODEPS_GOALS := clean uninstall help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config not found: install the Debian package pkg-config, or run scripts/install-deps as root)
endif
MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo ok),,$(p))))
ifneq ($(MISSING),)
$(error missing build dependencies: $(foreach p,$(MISSING),$(p) (Debian package $(deb_$(p)))); run scripts/install-deps as root)
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SANITIZE),)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
SANLD := -fsanitize=$(SANITIZE)
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
SANLD :=
endif

CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS := -std=gnu11 -pthread -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -DSR_VERSION='"$(VERSION)"' \
	$(OPT) $(WARN) -I. $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := -pthread $(SANLD) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lm

MODULES := core capture catalog mount revert recover
LIB_SRC := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libshadowrev.a
BIN := $(BUILD)/shadowrev

UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay-%)

.PHONY: all check asan fuzz fuzz-run bench stress install uninstall clean tests help
# keep intermediate objects (and keep make from printing their removal after the test summary)
.SECONDARY:
all: $(BIN)

V ?= 0
ifeq ($(V),0)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
quiet =
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(call quiet,AR,$@)$(AR) rcs $@ $^

$(BIN): $(BUILD)/main.o $(LIB)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/tap.o $(LIB)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/fuzz/replay-%: $(BUILD)/tests/fuzz/fuzz-%.o $(BUILD)/tests/fuzz/replay.o $(LIB)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tests: $(BIN) $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)

check: tests
	@BUILD=$(BUILD) tests/run-tests.sh

asan:
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined check

# libFuzzer: clang only, sanitizers on; one binary per target in build/fuzz/.
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE \
	-DSR_VERSION='"$(VERSION)"' -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz: $(FUZZ_BIN)
$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LIBS) -lpthread
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for t in $(FUZZ_NAMES); do \
		mkdir -p build/fuzz/corpus-$$t; \
		echo "fuzzing $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench: $(BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) bench/run-bench.sh

stress: $(BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) STRESS=1 tests/run-tests.sh

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/shadowrev

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shadowrev

clean:
	rm -rf build

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
