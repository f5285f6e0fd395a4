package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// burstBin is the binary under test, built once by TestMain.
var burstBin string

// moduleDir is the repository's root.
var moduleDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("e2e: skipped: the suite inspects /proc and process groups and needs Linux")
		return 0
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "burst-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	burstBin = filepath.Join(dir, "burst")
	parallelHome = filepath.Join(dir, "parallel-home") // parallel_test.go
	if err := os.Mkdir(parallelHome, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// The binary is built as `make build` builds it (static, stripped; no
	// -race), whatever flags the tests got: what is tested is what ships.
	build := exec.Command("make", "-s", "build", "BIN="+burstBin)
	build.Dir = root
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: make build in %s: %v\n%s", root, err, out)
		return 1
	}
	moduleDir = root
	defer startSlurm(root)()
	defer stopHosts() // scripts/hosts.sh's hosts, made when a test first asked (hosts_test.go)
	if slurmConf == "" {
		fmt.Fprintln(os.Stderr, "!!! e2e: the Slurm tests will skip (or fail under BURST_CI):", slurmWhy)
	}
	before := readCPUTimes()
	code := m.Run()
	printFaults()
	printCosts(before, readCPUTimes())
	return code
}

// moduleRoot is the directory of burst's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			return filepath.Dir(mod), nil
		}
	}
	// Fall back on the layout: this package lives in <root>/e2e.
	abs, aerr := filepath.Abs("..")
	if aerr != nil {
		return "", aerr
	}
	if _, serr := os.Stat(filepath.Join(abs, "go.mod")); serr != nil {
		return "", fmt.Errorf("cannot find the module root (go env GOMOD: %v; ../go.mod: %v)", err, serr)
	}
	return abs, nil
}
