# proclet — run `make run` to start the daemon on ./manifests, `make test` for every test.

GO        ?= go
BIN       := bin
# VERSION is the tag built from (v0.3.0, or v0.3.0-4-gabc1234 past it);
# without a tag the binary says v0.0.0-dev+COMMIT (proclet version).
VERSION   ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
LISTEN    ?= 127.0.0.1:9090
STATE_DIR ?= .proclet
TEST_FLAGS ?= -race -timeout 15m

MINUTES   ?= 2
SEED      ?= 0

.PHONY: all build install run test test-short bench lint fuzz chaos mutate clean

all: build

## build: bin/proclet and the test workload bin/workload
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/proclet ./cmd/proclet
	# static: a cgo-linked Go program pays the dynamic loader on every exec
	# (~1.2 ms here), which the benchmarks would charge to the supervisors
	CGO_ENABLED=0 $(GO) build -o $(BIN)/workload ./hack/workload

## install: build, then install bin/proclet to $(DESTDIR)$(PREFIX)/bin, the systemd
## unit (its ExecStart pointing there) to $(DESTDIR)$(PREFIX)/lib/systemd/system, and
## the shell completions when `proclet completion SHELL` can write them
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DATADIR   ?= $(PREFIX)/share
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN)/proclet $(DESTDIR)$(BINDIR)/proclet
	sed 's|/usr/local/bin/proclet|$(BINDIR)/proclet|' docs/proclet.service > $(DESTDIR)$(UNITDIR)/proclet.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/proclet.service
	@set -e; for c in bash:bash-completion/completions/proclet zsh:zsh/site-functions/_proclet \
	    fish:fish/vendor_completions.d/proclet.fish; do \
	  sh=$${c%%:*}; dst=$(DESTDIR)$(DATADIR)/$${c#*:}; \
	  if $(BIN)/proclet completion $$sh > $(BIN)/completion.$$sh 2>/dev/null && [ -s $(BIN)/completion.$$sh ]; then \
	    install -D -m 0644 $(BIN)/completion.$$sh $$dst; echo "installed $$dst"; \
	  else echo "no $$sh completion: this proclet has no 'completion $$sh' command"; fi; \
	  rm -f $(BIN)/completion.$$sh; \
	done

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

## bench: the Go benchmarks of the hot paths, then hack/bench: proclet against the fork/exec floor,
## PM2, supervisord, s6 and runit (installed when missing), N = 10, 100, 1000, 5000, within 30 min;
## QUICK=1: N = 10 and 100, shorter windows, within 5 min. Results: hack/bench/results/<time>/
BENCH_TIME ?= $(if $(QUICK),100ms,200ms)
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) ./...
	$(GO) build -o $(BIN)/bench ./hack/bench
	$(BIN)/bench -bin $(BIN) $(if $(QUICK),-quick) $(BENCH_FLAGS)

## lint: gofmt, go vet, go.mod tidy and its sums verified, staticcheck (pinned in
## go.mod's tools), and go vet for macOS of every package but the Linux implementation
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) mod verify
	$(GO) tool staticcheck $(STATICCHECK_PKGS)
	GOOS=darwin $(GO) vet $(CROSS_OS_PKGS)

# PKGS is every package; recursive (=), so that only the targets that use
# it pay for go list.
PKGS = $(shell $(GO) list ./...)

# STATICCHECK_SKIP are packages staticcheck does not check (% matches any
# suffix): none.
STATICCHECK_SKIP ?=
STATICCHECK_PKGS = $(filter-out $(STATICCHECK_SKIP),$(PKGS))

# CROSS_OS_EXCLUDE are the packages `GOOS=darwin go vet` leaves out: those
# that wire or use the Linux implementation (runtime/exec, whose files are
# Linux-only): the daemon's main, and the harnesses that start it (bench,
# chaos, e2e: the tmpfs run dir, pidfds). Everything else must stay
# portable, so that what is Linux-specific stays where it says so.
CROSS_OS_EXCLUDE ?= \
	proclet.dev/proclet/cmd/proclet \
	proclet.dev/proclet/hack/bench \
	proclet.dev/proclet/hack/chaos \
	proclet.dev/proclet/hack/e2e
CROSS_OS_PKGS = $(filter-out $(CROSS_OS_EXCLUDE),$(PKGS))

## chaos: the chaos test against the real daemon for MINUTES minutes (SEED=n replays a run); see docs/chaos.md
chaos: build
	$(GO) run ./hack/chaos -minutes $(MINUTES) -seed $(SEED) -bin $(BIN)

## fuzz: a short run of each manifest fuzzer: the decoder, then what a decoded
## file reaches next (defaults, the revision, $$(VAR) expansion and its bounds)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeFile -fuzztime 60s ./apis/v1alpha1
	$(GO) test -run '^$$' -fuzz FuzzExpandDefaultsRevision -fuzztime 60s ./apis/v1alpha1

## mutate: the mutation test of the decision code (hack/mutate, docs/development.md):
## one-line mutants of each file, the score per file and the survivors. Both
## the reconciler's files (MUTATE_FILES, ~5 min) and the stop logic
## (MUTATE_STOP_FILES, real processes, see docs/development.md for its time)
## must score MUTATE_MIN %. Each function of stop_linux.go is judged by the
## tests that reach it (file@Func=regex), tests in parallel (-parallel).
## Not part of test. MUTATE_FILES=reconciler/plan.go MUTATE_STOP_FILES= for one file.
MUTATE_MIN   ?= 90
MUTATE_FILES ?= reconciler/plan.go reconciler/rollout.go reconciler/backoff.go
MUTATE_STOP  := ^(TestExec_(StopReachesGrandchildren|ExitKillsWhatIsLeftOfTheGroup|SIGKILLAfterGrace|ZeroGraceKillsAtOnceWithoutPreStop|PreStop.*|ShortGrace.*|StopUnknownAndTwice|StopEndsProbing|StopAfterDetachIsRefused|DefaultSignalAndAOneWordPreStop|NoZombiesAfter100Cycles|StopAll.*|StartAfterStopAllFails|Detach.*)|TestStop_.*|TestAdopt_AfterDetach|TestCgroup_StopReachesEscapees)$$
MUTATE_HOOK  := ^(TestExec_(PreStop.*|DefaultSignalAndAOneWordPreStop|ZeroGraceKillsAtOnceWithoutPreStop)|TestStop_(Hook.*|FailingHook.*|InstanceGone.*|InstanceExitDuring.*|DetachDuringTheHook.*))$$
MUTATE_SHUTDOWN := ^(TestExec_(StopAll.*|StartAfterStopAllFails|Detach.*|StopAfterDetachIsRefused)|TestStop_(Detach.*|StopAll.*)|TestAdopt_AfterDetach)$$
MUTATE_STOP_FILES ?= 'runtime/exec/stop_linux.go@Stop,stop=$(MUTATE_STOP)' \
	'runtime/exec/stop_linux.go@runPreStop=$(MUTATE_HOOK)' \
	'runtime/exec/stop_linux.go@StopAll,Detach=$(MUTATE_SHUTDOWN)' \
	'runtime/exec/stop_linux.go=^TestStop_BoundsAreTheDocumentedOnes$$' \
	'runtime/stopspec.go=^TestStopSpec'
mutate:
	$(if $(strip $(MUTATE_FILES)),$(GO) run ./hack/mutate -min $(MUTATE_MIN) $(MUTATE_FLAGS) $(MUTATE_FILES))
	$(if $(strip $(MUTATE_STOP_FILES)),$(GO) run ./hack/mutate -min $(MUTATE_MIN) -parallel 4 $(MUTATE_FLAGS) $(MUTATE_STOP_FILES))

clean:
	rm -rf $(BIN) $(STATE_DIR)
