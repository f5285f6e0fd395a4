# burst: `make demo` builds burst and runs a job on this machine;
# `make test` checks go.mod is tidy and runs the whole test suite (what .ci/run runs).
GO    ?= go
BIN   := bin/burst

.PHONY: build demo test tidy bench fuzz clean

# Built static (CGO_ENABLED=0; SQLite is pure Go), so that the one binary
# runs on every Linux of its architecture: a cgo build needs the C library
# it was built against or newer (glibc 2.34 from a current distribution),
# and would not start on RHEL/Rocky 8, Ubuntu 20.04 or Amazon Linux 2, where
# clusters and cloud images still are (every cloud machine runs the server's
# own binary, fetched from GET /v1/dist/burst as it boots). Accounts kept in
# LDAP or SSSD are still found: internal/sysuser asks getent(1), which
# follows nsswitch.conf, for users /etc/passwd lacks. It also starts about
# 0.6 ms sooner. Stripped of its symbol table and DWARF (-s -w; panics still
# name functions and lines). -buildmode=exe: a GOFLAGS=-buildmode=pie in the
# environment would make it ask for the dynamic loader again.
build:
	CGO_ENABLED=0 $(GO) build -buildmode=exe -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/burst

demo: build
	$(BIN) run -- sh -c 'echo "hello from burst job $$BURST_JOB_ID on $$(hostname): $$BURST_CPUS CPU, GPUs [$$CUDA_VISIBLE_DEVICES]"'

test: tidy
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@rm -f bin/faults.txt bin/costs.txt bin/costs.txt.timeline; mkdir -p bin
	env BURST_FAULT_TABLE=$(CURDIR)/bin/faults.txt BURST_TEST_COSTS=$(CURDIR)/bin/costs.txt $(GO) test -race -count=1 -timeout 40m ./...
	@echo "fault suite (e2e/fault_*_test.go, docs/guarantees.md):"; cat bin/faults.txt
	@echo "e2e suite's cost (e2e/costs_test.go; every test, when it started and ended: bin/costs.txt.timeline):"; cat bin/costs.txt

# go.mod and go.sum must be what `go mod tidy` makes of them: no stale or
# missing requirement, no checksum left over from a removed module.
tidy:
	@$(GO) mod tidy -diff || { \
	  echo "go.mod/go.sum are not tidy (diff above): run 'go mod tidy' and commit the result"; exit 1; }

bench: build
	$(GO) run ./bench/run -burst $(BIN)
	$(GO) run ./bench/map -burst $(BIN)
	$(GO) run ./bench/guard -burst $(BIN)
	$(GO) run ./bench/pipe -burst $(BIN)
	$(GO) run ./bench/ui -burst $(BIN)
	$(GO) run ./bench/pymap -burst $(BIN)

fuzz:
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/sbatch
	$(GO) test -run XXX -fuzz FuzzPlace -fuzztime 30s ./internal/sched
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/pipe
	$(GO) test -run XXX -fuzz FuzzQuote -fuzztime 30s ./internal/shellquote

clean:
	rm -rf bin
