# proclet — run `make run` to start the daemon on ./manifests, `make test` for every test.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
LISTEN    ?= 127.0.0.1:9090
STATE_DIR ?= .proclet
TEST_FLAGS ?= -race -timeout 15m

.PHONY: all build run test test-short bench lint fuzz clean

all: build

## build: bin/proclet and the test workload bin/workload
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/proclet ./cmd/proclet
	$(GO) build -o $(BIN)/workload ./hack/workload

## run: build, then run the daemon in the foreground on the shipped examples
run: build
	$(BIN)/proclet run --manifests manifests --state-dir $(STATE_DIR) --listen $(LISTEN)

## test: vet, then every test (unit, runtime on real processes, end to end) with the race detector
test: build
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

## test-short: the fast tests only (no end-to-end)
test-short:
	$(GO) test -short -race ./...

## bench: the Go benchmarks of the hot paths and the latency benchmark of hack/bench
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: a short run of the manifest decoder's fuzzer
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeFile -fuzztime 60s ./apis/v1alpha1

clean:
	rm -rf $(BIN) $(STATE_DIR)
