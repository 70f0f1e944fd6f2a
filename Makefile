# The README's two commands:
#   make run     install what is missing, build, start pbxguard on its embedded default
#   make check   install what is missing, build under ASan+UBSan, run every test
#
# Everything else here is a helper of those two.

BUILD    ?= build
SANBUILD ?= build-san
FUZZBUILD?= build-fuzz
FUZZ_SECONDS ?= 20

SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all run check deps build build-san unit e2e fuzz bench clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dtests=disabled

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/pbxguard serve

$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dtests=enabled

build-san: deps $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)

unit: build-san
	$(SAN_ENV) meson test -C $(SANBUILD) --suite unit --print-errorlogs

e2e: build-san
	$(SAN_ENV) PBXGUARD=$(CURDIR)/$(SANBUILD)/pbxguard bash tests/e2e/run.sh

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) -Dfuzz=true -Dtests=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	$(SAN_ENV) bash fuzz/run.sh $(FUZZBUILD) $(FUZZ_SECONDS)

check: deps
	@bash scripts/check.sh

bench: build
	bash bench/register.sh ./$(BUILD)/pbxguard
	bash bench/flood.sh ./$(BUILD)/pbxguard
	bash bench/tls.sh ./$(BUILD)/pbxguard
	bash bench/calls.sh ./$(BUILD)/pbxguard 10000 2500
	bash bench/ami.sh ./$(BUILD)/pbxguard
	bash bench/web.sh ./$(BUILD)/pbxguard
	bash bench/sql.sh ./$(BUILD)/pbxguard

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
