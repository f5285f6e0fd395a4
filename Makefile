# burst: `make demo` builds burst and runs a job on this machine;
# `make test` runs the whole test suite (what .ci/run runs).
GO    ?= go
BIN   := bin/burst

.PHONY: build demo test bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/burst

demo: build
	$(BIN) run -- sh -c 'echo "hello from burst job $$BURST_JOB_ID on $$(hostname): $$BURST_CPUS CPU, GPUs [$$CUDA_VISIBLE_DEVICES]"'

test:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 20m ./...

bench: build
	$(GO) run ./bench/run -burst $(BIN)
	$(GO) run ./bench/map -burst $(BIN)
	$(GO) run ./bench/guard -burst $(BIN)
	$(GO) run ./bench/pipe -burst $(BIN)
	$(GO) run ./bench/ui -burst $(BIN)

fuzz:
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/sbatch
	$(GO) test -run XXX -fuzz FuzzPlace -fuzztime 30s ./internal/sched
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./internal/pipe

clean:
	rm -rf bin
