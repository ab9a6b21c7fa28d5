# Thin wrapper over CMake: the README's two commands, plus benchmarks.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench asan fuzz clean

all: build

# On a fresh Debian 12 machine the first build installs the packages it needs
# (as root); afterwards the check costs a few dpkg queries.
deps:
	@sh deploy/install-deps.sh

$(BUILD)/Makefile: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/wildfeed demo

# A test that fails is run once more before it counts as failed: the Kafka
# tests run against librdkafka's mock cluster, whose group coordinator has
# timing quirks (see tests/unit/test_source_group.c); a real failure fails
# twice.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --repeat until-pass:2

bench: build
	bash bench/run.sh $(BUILD)

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DWF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

fuzz:
	CC=clang cmake -S . -B build-fuzz -DWF_FUZZ=ON -DWF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf build build-asan build-fuzz
