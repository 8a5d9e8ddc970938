# flinkpg — build, test, bench, demo.
#
#   make            build every program into build/bin
#   make test       install what is missing, build with ASan+UBSan, run all tests
#   make bench      build optimised, run the benchmarks (ratios against a reference)
#   make bench-controller   the controller with 1, 100, 1000 DemoRuns (RUNS="1 100")
#   make demo       run the local demo (MODE=upsert|retract|append)
#   make format     clang-format the C sources (make format-check: only check, as CI does)
#   make images     container images of every program, the pause image and the test
#                   peers (postgres, kafka) with podman, saved as build/images/*.oci.tar
#                   (images/build.sh; IMAGES="flinkpg-sink pause" builds only those)
#   make fuzz       build the fuzz targets (clang + libFuzzer, ASan + UBSan) and run each
#                   for FUZZ_SECONDS (default 30) from its corpus in tests/fuzz/corpus/
#   make clean
#
# SAN=1 builds into build/asan with AddressSanitizer and UBSan; FUZZ=1 into build/fuzz
# with clang, libFuzzer's coverage, ASan and UBSan.

PKGS      := rdkafka libpq jansson libcurl yaml-0.1 libmicrohttpd zlib
SAN       ?= 0
FUZZ      ?= 0
CC        ?= cc
FUZZ_CC   ?= clang-14
BUILD     := build$(if $(filter 1,$(SAN)),/asan,)$(if $(filter 1,$(FUZZ)),/fuzz,)
ifeq ($(FUZZ),1)
CC        := $(FUZZ_CC)
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
VERSION := $(shell cat VERSION 2>/dev/null || echo dev)
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
           -Wformat=2 -Wno-format-nonliteral -fno-strict-aliasing $(PKG_CFLAGS) -MMD -MP \
           -DFLINKPG_VERSION='"$(VERSION)"'
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
endif
LDLIBS  += $(PKG_LIBS) -lpthread -lm
# each program links only the libraries its objects use: common/ is an archive
# (only the members a program references are pulled in) and --as-needed drops
# every shared library nothing references (checked with readelf -d)
LDFLAGS += -Wl,--as-needed

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
COMMON_LIB := $(BUILD)/lib/libflinkpg-common.a

SINK_SRC   := $(wildcard sink/*.c)
# the program's own parts (app.h); the rest is the library the unit tests link
SINK_MAIN  := sink/main.c sink/handover.c sink/setup.c sink/metrics.c
SINK_LIB   := $(filter-out $(SINK_MAIN),$(SINK_SRC))
GEN_SRC    := $(wildcard generator/*.c)
GEN_MAIN   := generator/main.c generator/run_scenario.c generator/run_poll.c generator/schemas.c
GEN_LIB    := $(filter-out $(GEN_MAIN),$(GEN_SRC))
CTRL_SRC   := $(wildcard controller/*.c)
CTRL_LIB   := $(filter-out controller/main.c,$(CTRL_SRC))
STMT_SRC   := $(wildcard statements/*.c)
STMT_LIB   := $(filter-out statements/main.c,$(STMT_SRC))
TOOL_SRC   := $(wildcard tests/tools/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/*.c)

PROGRAMS := $(BUILD)/bin/flinkpg-sink \
            $(if $(GEN_SRC),$(BUILD)/bin/flinkpg-generator) \
            $(if $(CTRL_SRC),$(BUILD)/bin/flinkpg-controller) \
            $(BUILD)/bin/flinkpg-statements
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all tools units fuzzers fuzz test bench race bench-controller demo kube-demo deps format format-check clean check-deps images manifests
all: check-deps $(PROGRAMS) $(TOOLS) $(UNITS)
tools: $(TOOLS)
units: $(UNITS)

# object files made through pattern rules (tools, unit tests) are kept, so
# that a second `make` after a fresh build links nothing again
.SECONDARY:

# the version is compiled into the controller's default image tags
$(BUILD)/obj/controller/main.o: $(wildcard VERSION)

check-deps:
	@pkg-config --exists $(PKGS) || { echo "missing development packages; run: tests/install-deps.sh" >&2; exit 1; }

$(COMMON_LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR   $@"
	@rm -f $@
	@$(AR) rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC   $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/bin/flinkpg-sink: $(SINK_SRC:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/flinkpg-generator: $(GEN_SRC:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/flinkpg-controller: $(CTRL_SRC:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/flinkpg-statements: $(STMT_SRC:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# unit tests link the program libraries (everything but main.c)
$(BUILD)/unit/%: $(BUILD)/obj/tests/unit/%.o $(SINK_LIB:%.c=$(BUILD)/obj/%.o) \
                 $(GEN_LIB:%.c=$(BUILD)/obj/%.o) $(CTRL_LIB:%.c=$(BUILD)/obj/%.o) \
                 $(STMT_LIB:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fuzz targets: libFuzzer's main, the program libraries built with coverage
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(SINK_LIB:%.c=$(BUILD)/obj/%.o) \
                 $(GEN_LIB:%.c=$(BUILD)/obj/%.o) $(CTRL_LIB:%.c=$(BUILD)/obj/%.o) \
                 $(STMT_LIB:%.c=$(BUILD)/obj/%.o) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD   $@"
	@$(CC) $(LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzzers: check-deps $(FUZZERS)

fuzz: deps
	$(MAKE) --no-print-directory FUZZ=1 fuzzers
	tests/fuzz/run $(FUZZ_SECONDS)

deps:
	tests/install-deps.sh

test: deps
	@echo "== building with AddressSanitizer + UBSan (build/asan)"
	$(MAKE) --no-print-directory SAN=1 all
	@echo "== running tests"
	tests/run

bench: deps
	$(MAKE) --no-print-directory SAN=0 all
	tests/bench/run

# flinkpg-sink against Debezium's and Flink's JDBC sinks on real Kafka (tens of minutes;
# RACE_CHANGES, RACE_REPEAT, RACE_CONTENDERS, ...: see tests/bench/race/run)
race: deps
	$(MAKE) --no-print-directory SAN=0 all
	tests/bench/race/run

# the controller with 1, 100 and 1000 DemoRuns on a real control plane (minutes)
bench-controller: deps
	$(MAKE) --no-print-directory SAN=0 all
	tests/bench/controller $(RUNS)

demo: deps
	$(MAKE) --no-print-directory SAN=0 all
	tests/demo/run $(MODE)

# the same demo in Kubernetes: the repository's own node, make images, helm install, samples
kube-demo: deps
	tests/demo/kube $(MODE)

images:
	images/build.sh $(IMAGES)

# manifests/install.yaml from the chart (tests/integration/chart.sh checks it is current)
manifests:
	manifests/generate.sh

# every C file and header the repository holds, as .clang-format says
FORMAT_SRC := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format says"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
