# Flow Weaver build and test entry points. `make run` and `make test` are the
# two commands the README opens with; both set up what they need.
GO       ?= go
BIN      := build/bin/flowweaver
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
ARGS     ?=

DESKTOP_BIN := build/bin/flowweaver-desktop

.PHONY: desktop test-desktop run build frontend frontend-deps system-deps test test-go test-fuzz test-frontend test-e2e bench

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

## test: every test: Go (vet, unit, race, fuzz smoke), frontend unit, browser e2e, desktop under Xvfb
test: system-deps test-go test-fuzz test-frontend test-e2e test-desktop

test-go: frontend
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./backend/...

test-fuzz:
	bash .ci/fuzz.sh

test-frontend: frontend-deps
	cd frontend && npm test

test-e2e: build
	bash .ci/e2e.sh

## bench: the benchmarks quoted in docs/benchmarks.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./backend/...

## desktop: the desktop app (Wails, cgo, GTK 3 + WebKitGTK 4.1) at build/bin/flowweaver-desktop
desktop: frontend
	@pkg-config --exists gtk+-3.0 webkit2gtk-4.1 2>/dev/null || { \
	  echo "make desktop needs GTK 3 and WebKitGTK 4.1 headers. On Debian/Ubuntu:"; \
	  echo "  sudo apt-get install -y --no-install-recommends libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config"; \
	  echo "(make system-deps installs them too)"; exit 1; }
	CGO_ENABLED=1 $(GO) build -tags desktop,production,webkit2_41 -trimpath -ldflags '$(LDFLAGS)' -o $(DESKTOP_BIN) .

## test-desktop: the desktop binary in a real window under Xvfb
test-desktop:
	bash .ci/desktop-test.sh
