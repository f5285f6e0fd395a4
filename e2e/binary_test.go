package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryRunsWithoutACLibrary: the binary that ships (`make build`,
// what every cloud machine fetches from the server) is static, so it
// starts on any Linux of its architecture, whatever C library the machine
// has or lacks. The ELF has no interpreter and needs no shared object, and
// it runs in a chroot that holds nothing else at all.
func TestBinaryRunsWithoutACLibrary(t *testing.T) {
	f, err := elf.Open(burstBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s has an ELF interpreter (PT_INTERP): it is dynamically linked and needs the C library it was built against; build it with CGO_ENABLED=0 as make build does", burstBin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("%s needs shared objects %v; build it with CGO_ENABLED=0 as make build does", burstBin, libs)
	}
	needRoot(t, "chroot into a directory holding only the binary")
	root := t.TempDir()
	data, err := os.ReadFile(burstBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "burst"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("chroot", root, "/burst", "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "burst") {
		t.Fatalf("burst version in a chroot with no C library: %v\n%s", err, out)
	}
}
