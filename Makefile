# dnnq — GNU make build.  `make` builds, `make check` tests, `make bench`
# measures against the peers, `make demo` shows it working.
# `make check SANITIZE=address,undefined` builds into its own tree and runs
# the same tests under the sanitizers.

PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
comma    := ,
BUILD    ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

CC       ?= cc
CFLAGS   ?= -O2 -g
# -ffp-contract=off: the scalar reference and the SIMD kernels must round the
# same way, so the compiler may not fuse a multiply and an add behind our back.
DNNQ_CFLAGS = -std=gnu11 $(CFLAGS) -Wall -Wextra -Werror -ffp-contract=off \
              -fPIC -I. -MMD -MP
DNNQ_LDFLAGS = $(LDFLAGS)
ifneq ($(SANITIZE),)
DNNQ_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
DNNQ_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Kernels for one ISA live in files named for it and only they get its flags;
# everything else stays portable and dispatches at run time.
ISA_FLAGS_avx2  = -mavx2 -mfma
ISA_FLAGS_sse42 = -msse4.2
ISA_FLAGS_avx512vnni = -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512vnni
isa_flags = $(foreach i,avx2 sse42 avx512vnni,$(if $(findstring -$(i).c,$(1)),$(ISA_FLAGS_$(i))))

# Build dependencies: probed once; when the probe fails every build target
# first runs `make deps` (which installs them as root, or says what to run).
DEPS_OK := $(shell pkg-config --exists liburing yaml-0.1 libsystemd check 2>/dev/null && echo y)
DEPS_FIRST := $(if $(DEPS_OK),,deps)
BENCH_OK := $(shell test -f /usr/include/oneapi/dnnl/dnnl.h && pkg-config --exists openblas 2>/dev/null && echo y)

CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

ENGINE_SRC := $(sort $(wildcard engine/*.c))
CALIB_SRC  := $(sort $(wildcard calibration/*.c))
SHM_SRC    := $(sort $(wildcard shm/*.c))
TEST_SRC   := $(sort $(wildcard tests/*.c))
BENCH_SRC  := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

ENGINE_LIB := $(BUILD)/libdnnq-engine.a
CALIB_LIB  := $(BUILD)/libdnnq-calib.a
SHM_LIB    := $(BUILD)/libdnnq-shm.a
TOOLS      := $(BUILD)/bin/dnnq-quant-demo $(BUILD)/bin/dnnq-calibrate \
              $(BUILD)/bin/dnnq-inspect
TEST_BIN   := $(BUILD)/tests/dnnq-check
BENCH_BIN  := $(BUILD)/bin/dnnq-bench

.PHONY: all check bench demo install clean deps deps-bench
.DEFAULT_GOAL := all

all: $(DEPS_FIRST) $(ENGINE_LIB) $(CALIB_LIB) $(SHM_LIB) $(TOOLS)

deps:
	@tools/deps.sh

deps-bench:
	@tools/deps.sh --bench

$(BUILD)/obj/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) $(call isa_flags,$<) -c $< -o $@

$(ENGINE_LIB): $(call obj,$(ENGINE_SRC))
$(CALIB_LIB): $(call obj,$(CALIB_SRC))
$(SHM_LIB): $(call obj,$(SHM_SRC))
$(ENGINE_LIB) $(CALIB_LIB) $(SHM_LIB):
	@mkdir -p $(dir $@)
	rm -f $@.tmp && $(AR) rcs $@.tmp $^ && mv $@.tmp $@

$(BUILD)/bin/dnnq-quant-demo: $(call obj,tools/quant-demo.c) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -lm

$(BUILD)/bin/dnnq-calibrate: $(call obj,tools/calibrate.c) $(CALIB_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -lm

$(BUILD)/bin/dnnq-inspect: $(call obj,tools/inspect.c) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -lm

$(call obj,$(TEST_SRC)): DNNQ_CFLAGS += $(CHECK_CFLAGS)
$(TEST_BIN): $(call obj,$(TEST_SRC) daemon/pool.c) $(CALIB_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(CHECK_LIBS) -lm -lpthread

# CK_DEFAULT_TIMEOUT: a hung test fails instead of hanging CI; sanitizers are slow.
# The operator suites run a second time with the AVX2 GEMM kernel forced
# (CPUs with AVX-512 VNNI run another kernel by default).
CHECK_ENV = CK_DEFAULT_TIMEOUT=$(if $(SANITIZE),600,120)
check: $(DEPS_FIRST) all $(TEST_BIN)
	$(CHECK_ENV) $(TEST_BIN)
	for s in fc conv graph; do DNNQ_GEMM=avx2 $(CHECK_ENV) $(TEST_BIN) $$s || exit 1; done

$(BENCH_BIN): $(call obj,$(BENCH_SRC)) $(call obj,daemon/pool.c) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -ldnnl -lopenblas -lm -lpthread

bench: $(if $(BENCH_OK),,deps-bench)
	$(MAKE) $(BENCH_BIN)
	$(BENCH_BIN) all

demo: all
	$(BUILD)/bin/dnnq-quant-demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
