# dnnq — GNU make build.  `make` builds, `make check` tests, `make bench`
# measures against the peers, `make demo` shows it working.
# `make conformance-skips` writes tests/onnx/node-skips.txt again from the
# ONNX node tests that fail today (suite nodetests, docs/onnx.md).
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
# ONNX's schema, for onnx/: the one Debian's libonnx-dev installs in the
# system include directory.
# ONNX's backend tests, which suite nodetests runs (the directory is
# compiled into tests/test_nodetests.c): Debian's libonnx-testdata, whose
# node/, pytorch-converted/, pytorch-operator/ and simple/ it reads.
ONNX_TEST_DATA := /usr/share/libonnx-testdata/data
ONNX_PROTO ?= $(firstword $(wildcard $(addsuffix /onnx/onnx.proto,/usr/local/include /usr/include)))
DEPS_OK := $(shell pkg-config --exists liburing yaml-0.1 libsystemd check libprotobuf-c \
             openblas 2>/dev/null && \
             command -v systemd-analyze >/dev/null && command -v groff >/dev/null && \
             command -v protoc-c >/dev/null && test -n "$(ONNX_PROTO)" && \
             test -d $(ONNX_TEST_DATA)/node && echo y)
DEPS_FIRST := $(if $(DEPS_OK),,deps)
# make bench's peers (oneDNN) and its fixtures' exporters (torch,
# torchvision, onnx under /usr/bin/python3).
BENCH_OK := $(shell test -f /usr/include/oneapi/dnnl/dnnl.h && pkg-config --exists openblas 2>/dev/null && \
              test -d /usr/lib/python3/dist-packages/torchvision && \
              test -d /usr/lib/python3/dist-packages/onnx && echo y)
BENCH_DEPS := $(if $(BENCH_OK),,deps-bench)

CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

# engine/ops/NAME.c: one operator each (engine/op.h); engine/op.c lists them
# from the file names (DNNQ_OP_LIST), so adding one is adding its file.
OPS_SRC    := $(sort $(wildcard engine/ops/*.c))
OP_LIST     = -DDNNQ_OP_LIST='$(foreach o,$(basename $(notdir $(OPS_SRC))),DNNQ_OP($(o)))'
ENGINE_SRC := $(sort $(wildcard engine/*.c)) $(OPS_SRC)
CALIB_SRC  := $(sort $(wildcard calibration/*.c))
SHM_SRC    := $(sort $(wildcard shm/*.c))
CONF_SRC   := $(sort $(wildcard conf/*.c))
# daemon/main.c is dnnqd's main(); the rest is a library the tests link too.
DAEMON_SRC := $(filter-out daemon/main.c,$(sort $(wildcard daemon/*.c)))
# client/dnnqctl*.c is the dnnqctl tool; the rest is libdnnq-client.
CLIENT_SRC := $(filter-out client/dnnqctl%.c,$(sort $(wildcard client/*.c)))
CTL_SRC    := $(sort $(wildcard client/dnnqctl*.c))
NPY_SRC    := calibration/npy.c calibration/npy-file.c engine/base.c engine/json.c
# Models and a dnnqd process for the integration tests and the benchmarks.
FIXTURE_SRC := tools/serve-fixture.c
ONNX_SRC   := $(sort $(wildcard onnx/*.c))
TEST_SRC   := $(sort $(wildcard tests/*.c))
BENCH_SRC  := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

ENGINE_LIB := $(BUILD)/libdnnq-engine.a
# What a binary linking the engine needs besides it: OpenBLAS (the fp32
# twins' sgemm, engine/f32.c, which alone includes its header).
ENGINE_LIBS = $(shell pkg-config --libs openblas 2>/dev/null)
OPENBLAS_CFLAGS = $(shell pkg-config --cflags openblas 2>/dev/null)
CALIB_LIB  := $(BUILD)/libdnnq-calib.a
SHM_LIB    := $(BUILD)/libdnnq-shm.a
DAEMON_LIB := $(BUILD)/libdnnq-daemon.a
CONF_LIB   := $(BUILD)/libdnnq-conf.a
ONNX_LIB   := $(BUILD)/libdnnq-onnx.a
ONNX_LIBS   = -lprotobuf-c
ONNX_GEN   := $(BUILD)/gen/onnx/onnx.pb-c.c
# What the daemon library needs besides the engine: libyaml (conf/),
# liburing (the loader), libsystemd (sd-daemon).
DAEMON_LIBS = $(shell pkg-config --libs yaml-0.1 liburing libsystemd 2>/dev/null) -lm -lpthread
# The client library: shared (what applications link) and static (the
# tests and the benchmarks, which also link the engine).
CLIENT_SO    := $(BUILD)/lib/libdnnq-client.so.1
CLIENT_A     := $(BUILD)/libdnnq-client.a
CLIENT_HDR   := $(BUILD)/include/dnnq.h
DNNQD        := $(BUILD)/bin/dnnqd
DNNQCTL      := $(BUILD)/bin/dnnqctl
# tools/dnnq-NAME.c is the tool dnnq-NAME (dnnq-convert, dnnq-run), on onnx/.
ONNX_TOOLS := $(patsubst tools/%.c,$(BUILD)/bin/%,$(sort $(wildcard tools/dnnq-*.c)))
TOOLS      := $(BUILD)/bin/dnnq-calibrate \
              $(BUILD)/bin/dnnq-inspect $(DNNQCTL) $(ONNX_TOOLS)
TEST_BIN   := $(BUILD)/tests/dnnq-check
BENCH_BIN  := $(BUILD)/bin/dnnq-bench

.PHONY: all check bench demo install uninstall clean deps deps-bench
.DEFAULT_GOAL := all

all: $(DEPS_FIRST) $(ENGINE_LIB) $(CALIB_LIB) $(SHM_LIB) $(ONNX_LIB) $(TOOLS) $(DNNQD) \
     $(CLIENT_SO) $(CLIENT_HDR)

deps:
	@tools/deps.sh

deps-bench:
	@tools/deps.sh --bench

$(BUILD)/obj/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) $(call isa_flags,$<) -c $< -o $@

$(ENGINE_LIB): $(call obj,$(ENGINE_SRC))
$(call obj,engine/op.c): DNNQ_CFLAGS += $(OP_LIST)
$(call obj,engine/op.c): $(OPS_SRC)
$(call obj,engine/f32.c): DNNQ_CFLAGS += $(OPENBLAS_CFLAGS)
# the reference executor's depthwise loop (onnx/ref.c) is left to the vectorizer
$(call obj,onnx/ref.c): DNNQ_CFLAGS += -ftree-vectorize
$(CALIB_LIB): $(call obj,$(CALIB_SRC))
$(SHM_LIB): $(call obj,$(SHM_SRC))
$(DAEMON_LIB): $(call obj,$(DAEMON_SRC))
$(CONF_LIB): $(call obj,$(CONF_SRC))
$(ONNX_LIB): $(call obj,$(ONNX_SRC) $(ONNX_GEN))
$(CLIENT_A): $(call obj,$(CLIENT_SRC) $(SHM_SRC))
$(ENGINE_LIB) $(CALIB_LIB) $(SHM_LIB) $(DAEMON_LIB) $(CONF_LIB) $(CLIENT_A) $(ONNX_LIB):
	@mkdir -p $(dir $@)
	rm -f $@.tmp && $(AR) rcs $@.tmp $^ && mv $@.tmp $@

# ONNX import: protobuf-c code generated from ONNX's schema at build time
# (the generated C is built like ours, warnings and all).
$(ONNX_GEN): $(ONNX_PROTO) | $(DEPS_FIRST)
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=$(patsubst %/onnx/,%,$(dir $(ONNX_PROTO))) --c_out=$(BUILD)/gen onnx/onnx.proto
$(ONNX_GEN:.c=.h): $(ONNX_GEN)
$(BUILD)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -I$(BUILD)/gen -c $< -o $@
$(call obj,$(ONNX_SRC)): DNNQ_CFLAGS += -I$(BUILD)/gen
$(call obj,$(ONNX_SRC)): | $(ONNX_GEN:.c=.h)

$(ONNX_TOOLS): $(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(ONNX_LIB) $(DAEMON_LIB) $(CALIB_LIB) \
               $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ONNX_LIBS) $(ENGINE_LIBS) -lm -lpthread

$(BUILD)/bin/dnnq-calibrate: $(call obj,tools/calibrate.c) $(CALIB_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ENGINE_LIBS) -lm

$(BUILD)/bin/dnnq-inspect: $(call obj,tools/inspect.c) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ENGINE_LIBS) -lm

$(DNNQD): $(call obj,daemon/main.c) $(DAEMON_LIB) $(CONF_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ENGINE_LIBS) $(DAEMON_LIBS)

# Only the public API leaves the shared object (client/libdnnq-client.map).
$(CLIENT_SO): $(call obj,$(CLIENT_SRC) $(SHM_SRC)) client/libdnnq-client.map
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -shared -Wl,-soname,libdnnq-client.so.1 \
	  -Wl,--version-script=client/libdnnq-client.map -Wl,--no-undefined \
	  -o $@ $(filter %.o,$^) $(DNNQ_LDFLAGS) -lpthread
	ln -sf libdnnq-client.so.1 $(dir $@)libdnnq-client.so

# The installed header is self-contained: the error codes are inlined, and
# only they (from `enum dnnq_status` to dnnq_strerror's declaration; the
# rest of shm/dnnq_error.h is internal to the tree).
$(CLIENT_HDR): client/dnnq.h shm/dnnq_error.h
	@mkdir -p $(dir $@)
	awk '/^#include "shm\/dnnq_error.h"/ { while ((getline l < "shm/dnnq_error.h") > 0) { if (l ~ /^enum dnnq_status/) on = 1; if (on) print l; if (l ~ /^const char \*dnnq_strerror/) on = 0 }; next } { print }' client/dnnq.h > $@.tmp && mv $@.tmp $@

# dnnqctl links the shared library and reads .npy files with calibration/'s
# reader. It finds the library beside it, in the build tree's lib/ or in an
# install's LIBDIR (lib/MULTIARCH below the prefix), with or without
# ldconfig: the dynamic linker's own directories are /lib and /usr/lib's,
# not /usr/local/lib/MULTIARCH, which only ldconfig's cache holds.
$(DNNQCTL): $(call obj,$(CTL_SRC) $(NPY_SRC) shm/error.c shm/metrics.c) $(CLIENT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD)/lib -l:libdnnq-client.so.1 \
	  -Wl,-rpath,'$$ORIGIN/../lib$(if $(MULTIARCH),:$$ORIGIN/../lib/$(MULTIARCH))' \
	  $(DNNQ_LDFLAGS) -lm -lpthread

$(call obj,$(TEST_SRC)): DNNQ_CFLAGS += $(CHECK_CFLAGS) -I$(BUILD)/gen
$(call obj,$(TEST_SRC)): | $(ONNX_GEN:.c=.h)
$(call obj,tests/test_nodetests.c): DNNQ_CFLAGS += -DTEST_DATA='"$(ONNX_TEST_DATA)"'
$(TEST_BIN): $(call obj,$(TEST_SRC) $(FIXTURE_SRC)) $(DAEMON_LIB) $(CONF_LIB) $(CLIENT_A) \
            $(ONNX_LIB) $(CALIB_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(CHECK_LIBS) $(ONNX_LIBS) $(ENGINE_LIBS) \
	  $(DAEMON_LIBS)

# CK_DEFAULT_TIMEOUT: a hung test fails instead of hanging CI; sanitizers are slow.
# One pass covers every ISA: the suites run each kernel table the CPU has
# against the scalar one (tests/isa.h).
# DNNQ_DNNQD / DNNQ_DNNQCTL: the binaries the integration suites start.
# ASAN_OPTIONS quarantine_size_mb=16 (the caller's options after it win):
# Check forks the runner for every test, and with ASan's default 256 MB
# quarantine the runner held ~600 MB of freed memory (its per-assertion
# messages), which every fork copied the page tables of: the eltwise suite
# took 228 s, 91 s with 16 MB. Freed memory is still poisoned until 16 MB
# more has been freed, in each test's own process.
# CHECK_JOBS: the suites run in this many processes at once (tests/check_main.c;
# their logs still print suite after suite); 1 runs them in one.
CHECK_JOBS ?= 2
CHECK_ENV = CK_DEFAULT_TIMEOUT=$(if $(SANITIZE),600,120) DNNQ_BINDIR=$(BUILD)/bin \
            DNNQ_CHECK_JOBS=$(CHECK_JOBS) \
            DNNQ_DNNQD=$(DNNQD) DNNQ_DNNQCTL=$(DNNQCTL) \
            $(if $(findstring address,$(SANITIZE)),ASAN_OPTIONS="quarantine_size_mb=16$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}")
# dnnq-bench too where oneDNN is installed: suite systemd checks its --help
# against man/dnnq-bench.1
check: $(DEPS_FIRST) all $(TEST_BIN) $(DNNQD) $(DNNQCTL) $(ONNX_TOOLS) \
       $(if $(wildcard /usr/include/oneapi/dnnl/dnnl.h),$(BENCH_BIN))
	$(CHECK_ENV) $(TEST_BIN)

# The list of the ONNX node tests dnnq runs but does not pass, each with
# its message, written again from today's failures (suite nodetests fails
# on a test that fails unlisted or passes listed): review the diff, commit.
NODE_SKIPS := tests/onnx/node-skips.txt
.PHONY: conformance-skips
conformance-skips: $(DEPS_FIRST) $(TEST_BIN)
	DNNQ_NODE_SKIPS_WRITE=$(NODE_SKIPS) $(CHECK_ENV) $(TEST_BIN) nodetests

$(BENCH_BIN): $(call obj,$(BENCH_SRC) $(FIXTURE_SRC)) $(DAEMON_LIB) $(CONF_LIB) $(CLIENT_A) \
             $(CALIB_LIB) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -ldnnl $(ENGINE_LIBS) $(DAEMON_LIBS)

bench: $(BENCH_DEPS)
	$(MAKE) $(BENCH_BIN) $(DNNQD) $(DNNQCTL) $(ONNX_TOOLS) $(CALIB_FIXTURE) $(MODELS_FIXTURE)
	DNNQ_DNNQD=$(DNNQD) DNNQ_DNNQCTL=$(DNNQCTL) DNNQ_BENCH_CALIB_DIR=$(CALIB_DIR) \
	    DNNQ_BENCH_MODELS_DIR=$(MODELS_DIR) $(BENCH_BIN) all
	$(MAKE) --no-print-directory bench-python

# dnnq-bench calib's fixture: ResNet-18 and its samples (bench/calib-fixture.py,
# /usr/bin/python3 with torch), ONNX Runtime from npm beside the peer script.
CALIB_DIR     := $(BUILD)/bench-calib
CALIB_FIXTURE := $(CALIB_DIR)/resnet18.onnx $(CALIB_DIR)/calib-ort.js \
                 $(CALIB_DIR)/node_modules/onnxruntime-node/package.json
$(CALIB_DIR)/resnet18.onnx: bench/calib-fixture.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 bench/calib-fixture.py $(CALIB_DIR)
$(CALIB_DIR)/calib-ort.js: bench/calib-ort.js
	@mkdir -p $(dir $@)
	cp $< $@
$(CALIB_DIR)/node_modules/onnxruntime-node/package.json:
	@mkdir -p $(CALIB_DIR)
	cd $(CALIB_DIR) && npm install --ignore-scripts --no-save onnxruntime-node

# dnnq-bench models' fixture: ResNet-18, MobileNetV2 and mobilenet_v3_small
# as float ONNX, PyTorch's QDQ export and dnnq-convert --per-channel's .dnnq
# (remade when the converter changes), the images (bench/models-ort-fixture.py),
# the peer script, and calib's onnxruntime-node linked in (one install).
# `make bench-models` runs `dnnq-bench models` alone.
MODELS_DIR     := $(BUILD)/bench-models
MODELS         := resnet18 mobilenet_v2 mobilenet_v3_small
MODELS_FIXTURE := $(MODELS:%=$(MODELS_DIR)/%.dnnq) $(MODELS_DIR)/models-ort.js \
                  $(MODELS_DIR)/node_modules
$(MODELS_DIR)/exported: bench/models-ort-fixture.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 bench/models-ort-fixture.py $(MODELS_DIR) $(MODELS)
	touch $@
# --precision int8: every conv int8, as in the QDQ model ORT runs (the
# default auto keeps ResNet-18's conv1 and layer1.0.conv1 fp32 for 1 dB).
$(MODELS_DIR)/%.dnnq: $(MODELS_DIR)/exported $(BUILD)/bin/dnnq-convert
	$(BUILD)/bin/dnnq-convert $(MODELS_DIR)/$*.onnx --per-channel --precision int8 \
	    --calib $(MODELS_DIR)/calib8.npy -o $@
$(MODELS_DIR)/models-ort.js: bench/models-ort.js
	@mkdir -p $(dir $@)
	cp $< $@
$(MODELS_DIR)/node_modules: $(CALIB_DIR)/node_modules/onnxruntime-node/package.json
	@mkdir -p $(dir $@)
	ln -sfn $(abspath $(CALIB_DIR)/node_modules) $@
# The peers and exporters first (CALIB_DIR and MODELS_DIR are set above).
$(call obj,$(BENCH_SRC)) $(CALIB_DIR)/resnet18.onnx $(MODELS_DIR)/exported: | $(BENCH_DEPS)
.PHONY: bench-models
bench-models: $(BENCH_BIN) $(MODELS_FIXTURE)
	DNNQ_BENCH_MODELS_DIR=$(MODELS_DIR) $(BENCH_BIN) models

demo: all
	tools/demo.sh $(BUILD)

# dnnq's one version (client/dnnq.h's DNNQ_VERSION), for the .pc.
VERSION := $(shell sed -n 's/^\#define DNNQ_VERSION "\(.*\)"/\1/p' client/dnnq.h)
# The units name /usr/bin and /etc/dnnq: rewritten for PREFIX, whose
# configuration lives in /etc for PREFIX=/usr, else in PREFIX/etc. The .pc
# is written again for the PREFIX of this install. An existing config is
# kept.
SYSCONFDIR = $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
# The library in Debian's multiarch directory (lib/x86_64-linux-gnu), which
# /etc/ld.so.conf.d lists under /usr and /usr/local alike: installed there
# for real (no DESTDIR, PREFIX /usr or /usr/local) by root, install runs
# ldconfig so that programs and the Python package find it at once (under
# /usr/local, only ldconfig's cache holds it).
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR    ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
LDCONFIG   = $(if $(DESTDIR)$(filter-out /usr /usr/local,$(PREFIX)),,\
               @if [ "$$(id -u)" = 0 ]; then ldconfig; fi)
UNIT_PATHS = s|/usr/bin/|$(PREFIX)/bin/|g; s|/etc/dnnq/|$(SYSCONFDIR)/dnnq/|g
# The man pages of what is installed: the tools, dnnqd, its config and the
# API. The development tools (dnnq-bench, dnnq-soak, dnnq-fuzz-seeds: run
# from build/bin/ of a tree, on its fixtures) are not installed, nor are
# their pages (man -l man/NAME.1 reads one in the tree; docs/deployment.md).
MAN_PAGES = $(patsubst $(BUILD)/bin/%,man/%.1,$(TOOLS)) man/dnnqd.8 man/dnnqd.yaml.5 man/dnnq.3
# The docs the installed pages and the tools' messages point at (onnx.md's
# supported operators, config.md's model costs, gemm.md), and the
# operator's and the Python user's guides: PREFIX/share/doc/dnnq.
DOCS = $(addprefix docs/,config.md deployment.md gemm.md onnx.md python.md serving.md)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/systemd/system \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d \
	  $(DESTDIR)$(SYSCONFDIR)/dnnq $(addprefix $(DESTDIR)$(PREFIX)/share/man/man,1 3 5 8) \
	  $(DESTDIR)$(PREFIX)/share/doc/dnnq
	install -m 755 $(TOOLS) $(DNNQD) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/dnnq/
	install -m 755 $(CLIENT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libdnnq-client.so.1 $(DESTDIR)$(LIBDIR)/libdnnq-client.so
	sed 's|@PREFIX@|$(PREFIX)|g; s|@LIBDIR@|$(LIBDIR)|g; s|@VERSION@|$(VERSION)|g' \
	  client/dnnq-client.pc.in \
	  > $(DESTDIR)$(LIBDIR)/pkgconfig/dnnq-client.pc
	install -m 644 $(CLIENT_HDR) $(DESTDIR)$(PREFIX)/include/
	for u in dnnqd.service dnnqd.socket; do \
	  sed '$(UNIT_PATHS)' systemd/$$u > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u && \
	  chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; \
	done
	install -m 644 systemd/dnnq.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/dnnq.conf
	install -m 644 systemd/dnnq.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/dnnq.conf
	if [ -f systemd/dnnqd.yaml ] && [ ! -e $(DESTDIR)$(SYSCONFDIR)/dnnq/dnnqd.yaml ]; then \
	  install -m 644 systemd/dnnqd.yaml $(DESTDIR)$(SYSCONFDIR)/dnnq/; fi
	for m in $(MAN_PAGES); do \
	  install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/ || exit 1; \
	done
	$(LDCONFIG)

# What install put there, but the config (an administrator's file: remove
# $(SYSCONFDIR)/dnnq/dnnqd.yaml by hand when it is no longer wanted).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS) $(DNNQD))) \
	  $(DESTDIR)$(LIBDIR)/libdnnq-client.so.1 $(DESTDIR)$(LIBDIR)/libdnnq-client.so \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/dnnq-client.pc $(DESTDIR)$(PREFIX)/include/dnnq.h \
	  $(addprefix $(DESTDIR)$(PREFIX)/lib/systemd/system/,dnnqd.service dnnqd.socket) \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d/dnnq.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/dnnq.conf \
	  $(addprefix $(DESTDIR)$(PREFIX)/share/doc/dnnq/,$(notdir $(DOCS)))
	rmdir $(DESTDIR)$(PREFIX)/share/doc/dnnq 2>/dev/null || true
	for m in $(MAN_PAGES); do \
	  rm -f $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m#man/} || exit 1; \
	done
	$(LDCONFIG)

clean:
	rm -rf build build-*

# ---- ThreadSanitizer (issue 9) -------------------------------------------
# `make SANITIZE=thread` builds into build-thread/. GCC warns (-Wtsan) that
# TSAN does not model __atomic_thread_fence: the one seq_cst fence
# (shm/dnnq_shm_atomic.h, the sleeping-flag / doorbell handshake) is kept
# and the warning is not an error in that tree only; docs/reliability.md
# says what TSAN therefore cannot check.
ifeq ($(SANITIZE),thread)
DNNQ_CFLAGS += -Wno-tsan
endif

# ---- soak (issue 9) -------------------------------------------------------
# `make soak DURATION=S`: dnnqd under random load and reloads for S seconds
# (tools/soak.c); the last line is machine-readable.
DURATION  ?= 60
SOAK_BIN  := $(BUILD)/bin/dnnq-soak
.PHONY: soak
$(SOAK_BIN): $(call obj,tools/soak.c $(FIXTURE_SRC)) $(CLIENT_A) $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ENGINE_LIBS) -lm -lpthread

soak: $(DEPS_FIRST) $(SOAK_BIN) $(DNNQD)
	DNNQ_DNNQD=$(DNNQD) $(SOAK_BIN) --duration $(DURATION)

# ---- fuzzing (issue 9; tests/fuzz/README.md) ------------------------------
# `make fuzz FUZZ_SECONDS=N` builds the libFuzzer harnesses tests/fuzz/*.c
# (clang, ASan + UBSan, every project source they need compiled again in
# build-fuzz/) and runs each for N seconds over a copy of its seed corpus
# tests/fuzz/corpus/<name>/; a crash fails it, the input is left in
# build-fuzz/artifacts/<name>/. `make fuzz-build` only builds. `make
# fuzz-seeds` writes the seed corpora again (tools/fuzz-seeds.c).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_BUILD   := build-fuzz
FUZZ_NAMES   := model qtensor npy config control request onnx
FUZZ_CFLAGS   = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer \
                -Wall -Wextra -Werror -ffp-contract=off -I. -MMD -MP
FUZZ_LIB_SRC := $(ENGINE_SRC) $(CALIB_SRC) $(SHM_SRC) $(CONF_SRC) $(DAEMON_SRC) \
                $(CLIENT_SRC) $(FIXTURE_SRC) $(ONNX_SRC) $(ONNX_GEN)
FUZZ_LIB     := $(FUZZ_BUILD)/libdnnq-fuzz.a
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/bin/fuzz-%,$(FUZZ_NAMES))
FUZZ_SEEDS   := $(BUILD)/bin/dnnq-fuzz-seeds
fuzz_obj      = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))
.PHONY: fuzz fuzz-build fuzz-seeds

$(FUZZ_BUILD)/obj/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(call isa_flags,$<) -c $< -o $@

$(call fuzz_obj,$(ONNX_SRC) $(ONNX_GEN) tests/fuzz/onnx.c): FUZZ_CFLAGS += -I$(BUILD)/gen
$(call fuzz_obj,engine/op.c): FUZZ_CFLAGS += $(OP_LIST)
$(call fuzz_obj,engine/op.c): $(OPS_SRC)
$(call fuzz_obj,engine/f32.c): FUZZ_CFLAGS += $(OPENBLAS_CFLAGS)
$(call fuzz_obj,$(ONNX_SRC) tests/fuzz/onnx.c): | $(ONNX_GEN:.c=.h)
$(FUZZ_LIB): $(call fuzz_obj,$(FUZZ_LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@.tmp && $(AR) rcs $@.tmp $^ && mv $@.tmp $@

$(FUZZ_BINS): $(FUZZ_BUILD)/bin/fuzz-%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(DAEMON_LIBS) $(ONNX_LIBS) $(ENGINE_LIBS)

fuzz-build: $(FUZZ_BINS)

# An ONNX file could make the importer hold 1 GiB of constants (a 37 kB
# Loop of growing Concats did), which with ASan's default 256 MB
# quarantine passed libFuzzer's 2 GB RSS limit (2169 MB): the fuzzers run
# with make check's 16 MB quarantine and a 3 GB limit (that input: 1.4 GB,
# 7 s). The limit now scales with the file (onnx/import-int.h: 16 times
# its bytes, at least 64 MiB), so a fuzzer's input holds 64 MiB or so.
fuzz: fuzz-build
	@for h in $(FUZZ_NAMES); do \
	  c=$(FUZZ_BUILD)/corpus/$$h a=$(FUZZ_BUILD)/artifacts/$$h; \
	  rm -rf $$c && mkdir -p $$c $$a && cp tests/fuzz/corpus/$$h/* $$c/ || exit 1; \
	  echo "fuzz-$$h: $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS="quarantine_size_mb=16$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}" \
	  $(FUZZ_BUILD)/bin/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix=$$a/ $$c || exit 1; \
	done

$(FUZZ_SEEDS): $(call obj,tools/fuzz-seeds.c $(FIXTURE_SRC)) $(CLIENT_A) $(CALIB_LIB) \
               $(ENGINE_LIB) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) $(ENGINE_LIBS) -lm -lpthread

fuzz-seeds: $(FUZZ_SEEDS)
	$(FUZZ_SEEDS) tests/fuzz/corpus

# suite systemd checks their --help against their man pages
check: $(SOAK_BIN) $(FUZZ_SEEDS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the installed API (issue 20) ------------------------------------------
# `make check-api` (part of `make check`) installs into $(BUILD)/api-check/
# and, against that install only, through pkg-config: checks that dnnq.h
# holds no internal declaration, that every function it declares is
# exported, that the .pc's Version (and the Python package's) is DNNQ_VERSION, that the .so link
# and the soname are libdnnq-client.so.1; builds the example of dnnq(3);
# compiles dnnq.h alone as C++11; builds tests/api/cxx.cc as C++17 (both
# with -Wshadow too, as C++ projects build)
# ($(BUILD)/bin/dnnq-cxx-example) and runs it (the header's linkage); builds
# examples/infer.c as $(BUILD)/bin/dnnq-example. The api suite (tests/test_api.c) runs both
# against a dnnqd.
API_PREFIX   = $(abspath $(BUILD))/api-check/prefix
API_LIBDIR   = $(API_PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
API_PKG      = PKG_CONFIG_PATH=$(API_LIBDIR)/pkgconfig pkg-config
API_FLAGS    = -Wall -Wextra -Werror -pedantic $(if $(SANITIZE),-fsanitize=$(SANITIZE))
API_LINK     = $$($(API_PKG) --cflags --libs dnnq-client) -Wl,-rpath,$(API_LIBDIR)
EXAMPLE_BIN := $(BUILD)/bin/dnnq-example
CXX_BIN     := $(BUILD)/bin/dnnq-cxx-example
.PHONY: check-api
check-api: $(DEPS_FIRST) all
	rm -rf $(BUILD)/api-check && mkdir -p $(BUILD)/api-check
	$(MAKE) --no-print-directory install PREFIX=$(API_PREFIX) DESTDIR= \
	  > $(BUILD)/api-check/install.log
	@h=$(API_PREFIX)/include/dnnq.h; \
	if grep -nE 'dnnq_diag|shm/|#include "' $$h; then \
	  echo "check-api: $$h holds internal declarations or includes" >&2; exit 1; fi; \
	for f in $$(sed -n 's/^[a-z][^(]*[ *]\(dnnq_[a-z0-9_]*\)(.*/\1/p' $$h); do \
	  nm -D --defined-only $(API_LIBDIR)/libdnnq-client.so | grep -qw $$f || \
	  { echo "check-api: $$f is declared in dnnq.h but not exported" >&2; exit 1; }; \
	done; \
	v=$$(sed -n 's/^#define DNNQ_VERSION "\(.*\)"/\1/p' $$h); \
	test -n "$$v" && test "$$($(API_PKG) --modversion dnnq-client)" = "$$v" || \
	  { echo "check-api: dnnq-client.pc's Version is not dnnq.h's '$$v'" >&2; exit 1; }; \
	grep -qx "version = \"$$v\"" python/pyproject.toml && \
	grep -qx "__version__ = \"$$v\"" python/dnnq/__init__.py || \
	  { echo "check-api: python/pyproject.toml's or dnnq.__version__ is not dnnq.h's $$v" >&2; \
	    exit 1; }; \
	test "$$(readlink $(API_LIBDIR)/libdnnq-client.so)" = libdnnq-client.so.1 && \
	readelf -d $(API_LIBDIR)/libdnnq-client.so.1 | grep -q 'SONAME.*\[libdnnq-client.so.1\]' || \
	  { echo "check-api: libdnnq-client.so is not a link to the soname libdnnq-client.so.1" >&2; \
	    exit 1; }
	awk '/^\.SH EXAMPLES/ { ex = 1 } ex && /^\.fi/ { exit } ex && on { print } ex && /^\.nf/ { on = 1 }' \
	  man/dnnq.3 | sed 's/\\e/\\/g' > $(BUILD)/api-check/man-example.c
	$(CC) -std=c11 $(API_FLAGS) $(BUILD)/api-check/man-example.c -o $(BUILD)/api-check/man-example \
	  $(API_LINK)
	command -v $(CXX) >/dev/null || tools/deps.sh
	echo '#include <dnnq.h>' | $(CXX) -std=c++11 $(API_FLAGS) -Wshadow -fsyntax-only -x c++ - \
	  $$($(API_PKG) --cflags dnnq-client)
	$(CXX) -std=c++17 $(API_FLAGS) -Wshadow tests/api/cxx.cc -o $(CXX_BIN) $(API_LINK)
	$(CXX_BIN)
	$(CC) -std=c11 $(API_FLAGS) examples/infer.c -o $(EXAMPLE_BIN) $(API_LINK)
check: check-api
CHECK_ENV += DNNQ_EXAMPLE=$(EXAMPLE_BIN) DNNQ_CXX=$(CXX_BIN)

# ---- the Python client (issue 21) -------------------------------------------
# python/dnnq: pure Python over libdnnq-client.so.1 (ctypes); docs/python.md.
# `make check-python` (part of `make check`) runs its pytest suite with
# Debian's interpreter, numpy and pytest (tools/deps.sh installs them)
# against the dnnqd of this build, which the suite starts on a temporary
# socket, and type-checks the package with mypy (its hints are public:
# py.typed). Under SANITIZE the instrumented library is loaded into an
# uninstrumented python3 with the sanitizer runtimes preloaded. `make
# install` puts the package where Debian's python3 finds it:
# /usr/lib/python3/dist-packages for PREFIX=/usr, else
# PREFIX/lib/python3.X/dist-packages (PYTHONDIR= overrides).
PYTHON     ?= /usr/bin/python3
PYVER      := $(shell $(PYTHON) -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHONDIR  ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/$(PYVER)/dist-packages)
PY_PRELOAD  = $(if $(SANITIZE),LD_PRELOAD="$(strip $(foreach r,$(if $(findstring address,$(SANITIZE)),asan) \
                $(if $(findstring undefined,$(SANITIZE)),ubsan) $(if $(findstring thread,$(SANITIZE)),tsan),\
                $(shell $(CC) -print-file-name=lib$(r).so)))" ASAN_OPTIONS=detect_leaks=0)
PY_ENV      = PYTHONDONTWRITEBYTECODE=1 DNNQ_BINDIR=$(abspath $(BUILD)/bin) \
              DNNQ_DNNQD=$(abspath $(DNNQD)) DNNQ_DNNQCTL=$(abspath $(DNNQCTL)) \
              DNNQ_CLIENT_LIB=$(abspath $(CLIENT_SO))
# dnnq-fakedaemon: tests/fakedaemon.c's hostile daemon as a process, which
# python/tests/test_hostile.py drives ($DNNQ_FAKEDAEMON).
FAKEDAEMON := $(BUILD)/tests/dnnq-fakedaemon
$(FAKEDAEMON): $(call obj,python/tests/fakedaemon.c tests/fakedaemon.c) $(SHM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(DNNQ_CFLAGS) -o $@ $^ $(DNNQ_LDFLAGS) -lm -lpthread
PY_ENV     += DNNQ_FAKEDAEMON=$(abspath $(FAKEDAEMON))
.PHONY: check-python bench-python
check-python: $(DEPS_FIRST) all $(FAKEDAEMON)
	@$(PYTHON) -c 'import numpy, pytest, mypy' 2>/dev/null || tools/deps.sh
	$(PY_ENV) $(PY_PRELOAD) $(PYTHON) -m pytest -q -p no:cacheprovider python/tests
	$(PYTHON) -m mypy --cache-dir=$(BUILD)/mypy-cache python/dnnq
	MYPYPATH=python $(PYTHON) -m mypy --strict --follow-imports=silent \
	  --cache-dir=$(BUILD)/mypy-cache python/tests/typed_usage.py
	rm -rf $(BUILD)/py-check && $(MAKE) --no-print-directory install-python PREFIX=/usr \
	  DESTDIR=$(abspath $(BUILD))/py-check > /dev/null
	cd / && PYTHONPATH=$(abspath $(BUILD))/py-check/usr/lib/python3/dist-packages $(PY_ENV) \
	  $(PY_PRELOAD) $(PYTHON) -c "import dnnq, os; assert '/py-check/' in dnnq.__file__; \
	  assert os.path.isfile(os.path.join(os.path.dirname(dnnq.__file__), 'py.typed')); \
	  print('check-python: the installed package imports:', dnnq.__file__)"
check: check-python

# `make bench-python` (part of `make bench`): bench/python.py, the Python
# client's round trip and digits CNN rate beside the C client's.
bench-python: $(DEPS_FIRST) all
	@$(PYTHON) -c 'import numpy' 2>/dev/null || tools/deps.sh
	$(PY_ENV) $(PYTHON) bench/python.py $(if $(DNNQ_BENCH_QUICK),--quick)

install: install-python
.PHONY: install-python
install-python:
	install -d $(DESTDIR)$(PYTHONDIR)/dnnq
	install -m 644 python/dnnq/*.py python/dnnq/py.typed $(DESTDIR)$(PYTHONDIR)/dnnq/

uninstall: uninstall-python
.PHONY: uninstall-python
uninstall-python:
	rm -rf $(DESTDIR)$(PYTHONDIR)/dnnq
