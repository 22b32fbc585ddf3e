# banger: every target does its own set-up on a fresh Debian 12 machine.
#   make demo   the main job
#   make test   deps + build + every test (what CI runs)

BUILD ?= build
JOBS  ?= $(shell nproc)
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build, the tests and the demo need.
DEPS := cmake ninja-build g++ pkg-config \
        libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev \
        libgtest-dev libgmock-dev libsqlite3-dev libnl-3-dev libnl-route-3-dev \
        libnftables-dev libdevmapper-dev libcurl4-openssl-dev libssl-dev \
        python3 python3-yaml python3-jsonschema \
        iproute2 nftables procps btrfs-progs xfsprogs \
        qemu-system-x86 busybox-static e2fsprogs kmod cpio xz-utils curl git dnsmasq-base \
        libext2fs-dev dosfstools mtools dropbear-bin openssh-client libarchive-dev \
        docker-registry skopeo openssl libsystemd-dev dbus-daemon help2man dpkg-dev lintian libgit2-dev util-linux \
        python3-configobj python3-jinja2 python3-jsonpatch python3-netifaces python3-requests \
        python3-serial python3-oauthlib

# Only for make fuzz (clang and libFuzzer): make test builds with g++ alone.
FUZZ_DEPS := clang-14 libclang-rt-14-dev

.PHONY: package all deps build banger test test-without-kvm test-sanitize fuzz probe unit demo demo-clean bench clean schemas

all: build

# Idempotent and quiet when everything is there; refreshes the package lists
# only when something is missing (a fresh machine may never have fetched them).
deps:
	@missing=$$(for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja: CMakeLists.txt tests/CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DBANGER_WERROR=ON -DBANGER_FAULTS=ON

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Only what the demo runs: the banger binary, not the tests and benchmarks.
banger: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target banger

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# ASan+UBSan over the unit, driver and CLI suites; TSan over the executor (a
# thread pool) and the watcher. Each in its own build folder.
SAN_TARGETS := banger fake-firecracker unit_tests driver_tests cli_tests
test-sanitize: deps
	cmake -S . -B build-asan -G Ninja -DBANGER_WERROR=ON -DBANGER_FAULTS=ON -DBANGER_SANITIZE=address
	cmake --build build-asan -j $(JOBS) --target $(SAN_TARGETS)
	cd build-asan && export BANGER_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 && \
	  ./tests/unit_tests && ./tests/driver_tests && ./tests/cli_tests
	cmake -S . -B build-tsan -G Ninja -DBANGER_WERROR=ON -DBANGER_FAULTS=ON -DBANGER_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target $(SAN_TARGETS)
	cd build-tsan && export BANGER_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1 && \
	  ./tests/unit_tests --gtest_filter='Executor*:Watch*:Debounce*:TapBatch*:Store.Concurrent*:ParallelLoad*' && ./tests/driver_tests --gtest_filter='WatchTest.*'

# The mutation probe at full size (tests/probe/mutation_probe.py): 20,000
# mutated manifests through validate and 5,000 mutated state exports through
# diff --against, as user nobody. SEED=N for another sample.
SEED ?= 1
probe: build
	python3 tests/probe/mutation_probe.py $(BUILD)/banger . $(BUILD)/probe --manifests 20000 --exports 5000 --seed $(SEED)

# libFuzzer over the manifest loader, the state-export reader (diff --against),
# the nft JSON parser and FastYaml against yaml-cpp, FUZZ_SECONDS each (README "Fuzzing"). make test
# replays their corpus (tests/fuzz/corpus: seeds and every crash found).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := manifest state_export nft_json fast_yaml
fuzz:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(FUZZ_DEPS)"
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DBANGER_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The main job: a real VM serving a page on 127.0.0.1:8080, under QEMU with
# KVM where KVM can boot an ordinary guest, else with TCG (runtime: auto).
demo: banger
	@$(BUILD)/banger validate -f examples/manifests
	@scripts/demo.sh $(BUILD)

demo-clean:
	@[ ! -x $(BUILD)/banger ] || $(BUILD)/banger delete -f examples/demo --ignore-not-found

# The whole suite as on a host without /dev/kvm: this machine's is hidden in a
# private mount namespace (make test already reruns the boot there).
test-without-kvm: build
	cd $(BUILD) && $(SUDO) $(CURDIR)/scripts/without-kvm.sh ctest --output-on-failure -j $(JOBS)

# Everything but the real boots (label "boot"): quick feedback.
unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE boot

bench: build
	$(BUILD)/bench_validate 1000
	$(BUILD)/bench_validate_memory 21
	$(BUILD)/bench_apply $(BUILD)/banger $(BUILD)/tests/fake-firecracker bench/shell_peer.sh 100 300 1000
	$(BUILD)/bench_watch $(BUILD)/banger $(BUILD)/tests/fake-firecracker 20 100
	$(BUILD)/bench_git $(BUILD)/banger $(BUILD)/tests/fake-firecracker 10 10
	$(BUILD)/bench_artifacts 256 1024
	$(BUILD)/bench_oci 100
	$(SUDO) bench/run_disk_bench.sh $(BUILD) 100

# A .deb (CPack, cmake/packaging.cmake) in $(BUILD): the binaries, the
# banger-watch unit and settings, schemas, completions and the man page.
package: build
	cd $(BUILD) && cpack -G DEB
	@ls -l $(BUILD)/banger_*.deb

# schemas/ from the field tables (src/resources/fields_*.cc), through banger explain -o json.
schemas: banger
	python3 tests/schema/gen_schemas.py --banger $(BUILD)/banger

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz

# banger and the watcher's systemd unit (the unit runs /usr/local/bin/banger);
# an existing /etc/default/banger-watch is kept.
.PHONY: install
install: build
	$(SUDO) install -D -m 0755 $(BUILD)/banger $(DESTDIR)/usr/local/bin/banger
	$(SUDO) install -D -m 0755 $(BUILD)/banger-launch $(DESTDIR)/usr/local/bin/banger-launch
	sed 's|@BANGER_BINDIR@|/usr/local/bin|' packaging/banger-watch.service.in | \
	  $(SUDO) install -D -m 0644 /dev/stdin $(DESTDIR)/etc/systemd/system/banger-watch.service
	[ -e $(DESTDIR)/etc/default/banger-watch ] || \
	  $(SUDO) install -D -m 0644 packaging/banger-watch.env $(DESTDIR)/etc/default/banger-watch
