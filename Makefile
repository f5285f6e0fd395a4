# burst: `make demo` builds burst and runs a job on this machine;
# `make test` checks go.mod is tidy and runs the whole test suite (what .ci/run runs).
GO    ?= go
BIN   := bin/burst

.PHONY: build demo test tidy bench fuzz clean

# Built with cgo (Go's default) although SQLite is pure Go: the C library's
# user and host lookups follow nsswitch (LDAP, SSSD), as HPC clusters need;
# a static build (CGO_ENABLED=0) starts 0.6 ms faster here but reads only
# /etc/passwd and /etc/hosts. Stripped of its symbol table and DWARF (-s -w;
# panics still name functions and lines): 57 MB instead of 77 MB, which is
# what every cloud machine downloads from GET /v1/dist/burst as it boots.
build:
	$(GO) build -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/burst

demo: build
	$(BIN) run -- sh -c 'echo "hello from burst job $$BURST_JOB_ID on $$(hostname): $$BURST_CPUS CPU, GPUs [$$CUDA_VISIBLE_DEVICES]"'

test: tidy
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@rm -f bin/faults.txt; mkdir -p bin
	env BURST_FAULT_TABLE=$(CURDIR)/bin/faults.txt $(GO) test -race -count=1 -timeout 20m ./...
	@echo "fault suite (e2e/fault_*_test.go, docs/guarantees.md):"; cat bin/faults.txt

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
