# mdlua — build, install, test, benchmark.
PREFIX ?= /usr/local
SWIFT ?= swift
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# The release binary is fully static (start-up: ~1 ms less than with a static Swift stdlib
# alone, see docs/internals.md).
STATIC_LIBS := -Xlinker -ltinfo -Xlinker -lbsd -Xlinker -lmd
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -static-executable $(STATIC_LIBS)
# The release binary's path, for recipes (a shell substitution: SwiftPM is asked only when
# a recipe that needs it runs).
RELEASE_BIN = $$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/mdlua

.PHONY: all deps build debug install test test-vm bench clean stdlib-list commit-header

all: build

# SwiftPM runs the EmbedStdlib plugin again only when the package changes, so a new
# stdlib/ script would be missed: when the list of scripts changes, mark the package changed.
stdlib-list:
	@mkdir -p .build
	@find stdlib -name '*.lua' | sort > .build/stdlib-list.new
	@cmp -s .build/stdlib-list.new .build/stdlib-list || { touch Package.swift; mv .build/stdlib-list.new .build/stdlib-list; }
	@rm -f .build/stdlib-list.new

# The binary carries its commit through a header that only Sources/CLuaGlue/mdl_lua.c
# includes, rewritten only when the commit changes: a new commit recompiles that one file
# (a -D flag would be in every C target's command line and rebuild all of them).
commit-header:
	@mkdir -p .build
	@printf '#define MDLUA_COMMIT "%s"\n' "$(COMMIT)" > .build/commit.h.new
	@cmp -s .build/commit.h.new Sources/CLuaGlue/mdl_commit.h || cp .build/commit.h.new Sources/CLuaGlue/mdl_commit.h
	@rm -f .build/commit.h.new

deps:
	scripts/install-deps.sh

build: stdlib-list commit-header
	$(SWIFT) build $(RELEASE_FLAGS)
	scripts/embed-registry.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

debug: stdlib-list commit-header
	$(SWIFT) build

install: build
	install -D -s -m 0755 "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/mdlua" "$(DESTDIR)$(PREFIX)/bin/mdlua"
	"$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/mdlua" completion bash | install -D -m 0644 /dev/stdin "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/mdlua"

# Unit tests (the Lua bridge, parsers) and integration tests that run the built binary.
test: debug
	scripts/test-images.sh "$$($(SWIFT) build --show-bin-path)/mdlua"
	MDLUA_BIN="$$($(SWIFT) build --show-bin-path)/mdlua" $(SWIFT) test --disable-swift-testing
	$(MAKE) --no-print-directory test-vm

# The static release binary in qemu guests booting Debian 12's and Debian 11's own kernels
# (cgroup v2 only), see docs/testing.md. Ends with "N passed, M failed".
test-vm: build
	MDLUA_BIN="$(RELEASE_BIN)" scripts/vm/run.sh

bench: build
	MDLUA_BIN="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/mdlua" scripts/bench.py

clean:
	rm -rf .build

# The Lua unit tests of the stdlib (Tests/lua, docs/testing.md): no root, no containers,
# and the scripts come from stdlib/, so a Lua edit needs no rebuild.
.PHONY: test-lua
test-lua:
	@test -x .build/debug/mdlua || $(MAKE) debug
	MDLUA_STDLIB=stdlib .build/debug/mdlua Tests/lua/run.lua
