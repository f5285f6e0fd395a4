// Package burstbin gives the benchmarks the burst they measure: the binary
// (given, or built from ./cmd/burst) and the environment of a burst in a
// fresh home.
package burstbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binary is the burst binary at path, made absolute; with path "", one
// built from ./cmd/burst (the benchmarks run from the repository's root)
// into dir.
func Binary(path, dir string) (string, error) {
	if path != "" {
		return filepath.Abs(path)
	}
	bin := filepath.Join(dir, "burst")
	build := exec.Command("go", "build", "-o", bin, "./cmd/burst")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildmode=exe") // as make build
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

// Env is this process's environment for a burst whose home is home, on
// any free port: without any BURST_ setting of its own, so that it never
// reaches another server or reads another token.
func Env(home string) []string {
	env := []string{"BURST_HOME=" + home, "BURST_PORT=0"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "BURST_") {
			env = append(env, e)
		}
	}
	return env
}
