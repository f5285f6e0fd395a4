package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRefuseDynamic(t *testing.T) {
	// /bin/sh is dynamically linked on every distribution burst builds on.
	if err := RefuseDynamic("/bin/sh"); err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("RefuseDynamic(/bin/sh) = %v; want a refusal naming make build", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(dir, "static")
	build := exec.Command("go", "build", "-o", static, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildmode=exe")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := RefuseDynamic(static); err != nil {
		t.Fatalf("RefuseDynamic(a static Go binary) = %v", err)
	}
	if err := RefuseDynamic(src); err == nil {
		t.Fatal("RefuseDynamic(a Go source file) = nil; want an error: it is no binary")
	}
}
