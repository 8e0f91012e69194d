# Flow Weaver build and test entry points. `make run` and `make test` are the
# two commands the README opens with; both set up what they need.
GO       ?= go
BIN      := build/bin/flowweaver
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
ARGS     ?=

DESKTOP_BIN := build/bin/flowweaver-desktop

.PHONY: desktop test-desktop run build frontend frontend-deps system-deps test test-go test-go-postgres test-fuzz test-frontend test-e2e bench bench-compare bench-ui lint lint-go lint-frontend vet-xos dist test-dist

# golangci-lint, pinned. `go install pkg@version` builds it from its own
# go.mod (checksummed), so our go.mod stays free of linter dependencies; the
# binary lands in .cache/bin under a versioned name and is rebuilt only when
# the version changes (the Go build cache makes that rebuild quick).
GOLANGCI_VERSION := v2.15.0
TOOLS_BIN        := $(CURDIR)/.cache/bin
GOLANGCI         := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_VERSION)

## run: build the UI and the binary, then serve headless on http://127.0.0.1:7420
run: build
	./$(BIN) serve $(ARGS)

## build: the headless binary (static, no cgo) with the UI embedded
build: frontend
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# frontend-deps installs node_modules only when package.json or the lock
# file changed since the last install (npm ci writes
# node_modules/.package-lock.json), so `make run` and `make build` do not
# reinstall on every call.
NODE_STAMP := frontend/node_modules/.package-lock.json
frontend-deps: $(NODE_STAMP)

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend: frontend-deps
	cd frontend && npm run build

## system-deps: Debian packages the browser and desktop tests need
system-deps:
	bash .ci/system-deps.sh

## test: linters first, then every test: Go (vet, unit, race, fuzz smoke), frontend unit, browser e2e, desktop under Xvfb, the .deb installed with apt
test: system-deps lint test-go test-fuzz test-frontend test-e2e test-desktop test-dist

## lint: golangci-lint (.golangci.yml), ESLint (frontend/lint) and go vet for Windows and macOS; zero findings
lint: lint-go lint-frontend vet-xos

# The desktop shell (desktop.go, app/) only compiles with the desktop tags,
# which need the GTK/WebKit headers (make system-deps); without them the rest
# is linted and a warning says what was left out. --allow-serial-runners:
# several worktrees share this machine's lint cache; wait for its lock
# instead of failing.
DESKTOP_TAGS := desktop,production,webkit2_41
lint-go: $(GOLANGCI)
	@if pkg-config --exists gtk+-3.0 webkit2gtk-4.1 2>/dev/null; then \
	  echo "$(GOLANGCI) run --allow-serial-runners --build-tags $(DESKTOP_TAGS) ./..."; \
	  $(GOLANGCI) run --allow-serial-runners --build-tags $(DESKTOP_TAGS) ./...; \
	else \
	  echo "lint-go: WARNING: no GTK/WebKit headers (make system-deps): the desktop shell is not linted"; \
	  $(GOLANGCI) run --allow-serial-runners ./...; \
	fi

$(GOLANGCI):
	mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLS_BIN)/golangci-lint $@

lint-frontend: frontend-deps
	cd frontend && npm run lint

## vet-xos: go vet ./... (tests included) as on Windows and macOS, where the desktop app also runs
# Catches code and tests that only compile on Linux (syscall.Kill, Getrusage,
# helpers defined in a _linux.go file): OS-specific helpers belong in files
# with build constraints (_unix/_linux/_windows/_other). windows stands for
# the non-Unix systems, darwin for the Unixes that are not Linux. Vet needs
# only the dependencies' types, so they are compiled without optimisation
# (-N -l): a cold run (a fresh CI machine compiles the standard library and
# every dependency once per OS) then costs about a third less CPU.
VET_XOS_FLAGS := -gcflags='all=-N -l'
vet-xos:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet $(VET_XOS_FLAGS) ./...
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) vet $(VET_XOS_FLAGS) ./...

# PG_PACKAGES run a second time on PostgreSQL (FW_STORE=postgres; each test
# binary starts a throwaway PostgreSQL 15 cluster, see backend/pgtest): the
# store and queue conformance suites, and the engine, workflow, hub and trigger
# tests, whose SQL would otherwise be proven on SQLite only.
PG_PACKAGES := ./backend/store/... ./backend/queue/ ./backend/engine/ ./backend/workflow/ ./backend/hub/ ./backend/trigger/

test-go: frontend
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./...
	FW_STORE=postgres CGO_ENABLED=0 $(GO) test -count=1 $(PG_PACKAGES)
	$(GO) test -race -count=1 ./backend/...

## test-go-postgres: the PostgreSQL pass of test-go alone
test-go-postgres:
	FW_STORE=postgres CGO_ENABLED=0 $(GO) test -count=1 $(PG_PACKAGES)

test-fuzz:
	bash .ci/fuzz.sh

test-frontend: frontend-deps
	cd frontend && npm test

test-e2e: build
	bash .ci/e2e.sh

## bench: the benchmarks quoted in docs/benchmarks.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./backend/...

## bench-compare: the outside-in benchmarks (real serve, real REST and WebSocket clients):
## fan-out side by side with Centrifugo, then durable runs (1-node and 10-node chain).
## BENCH_DIR is the load tools' checkout (compare.sh, fanout/, runs/).
BENCH_DIR ?= ../shared/bench
bench-compare:
	@test -x $(BENCH_DIR)/compare.sh || { echo "bench-compare: no $(BENCH_DIR)/compare.sh (set BENCH_DIR)"; exit 2; }
	uptime
	$(BENCH_DIR)/compare.sh fanout
	uptime
	$(BENCH_DIR)/compare.sh runs -runs=4000 -clients=16
	$(BENCH_DIR)/compare.sh runs -runs=1000 -nodes=10
	uptime

## bench-ui: the UI flood benchmark (Playwright + Chromium against a real serve):
## a shell node prints 200,000 lines; prints fps during the flood and the last line's delay.
bench-ui: build
	uptime
	FW_BENCH=1 bash .ci/e2e.sh --reporter=list

## desktop: the desktop app (Wails, cgo, GTK 3 + WebKitGTK 4.1) at build/bin/flowweaver-desktop
desktop: frontend
	@pkg-config --exists gtk+-3.0 webkit2gtk-4.1 2>/dev/null || { \
	  echo "make desktop needs GTK 3 and WebKitGTK 4.1 headers. On Debian/Ubuntu:"; \
	  echo "  sudo apt-get install -y --no-install-recommends libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config"; \
	  echo "(make system-deps installs them too)"; exit 1; }
	CGO_ENABLED=1 $(GO) build -tags desktop,production,webkit2_41 -trimpath -ldflags '$(LDFLAGS)' -o $(DESKTOP_BIN) .

## dist: build/dist: .deb (nfpm), bare Linux binary, Windows .exe (cross-built), SHA256SUMS
dist:
	bash tools/dist.sh

## test-dist: install the .deb with apt, check its files, start it from its menu entry under Xvfb, remove it
test-dist: dist
	bash .ci/deb-test.sh

## test-desktop: the desktop binary in a real window under Xvfb
test-desktop:
	bash .ci/desktop-test.sh
