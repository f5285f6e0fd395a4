package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/burst-sh/burst/internal/dist"
)

// TestBinaryRunsWithoutACLibrary: the binary that ships (`make build`,
// what every cloud machine fetches from the server) is static, so it
// starts on any Linux of its architecture, whatever C library the machine
// has or lacks. The ELF asks for no interpreter (the dynamic loader),
// and it runs in a chroot that holds nothing else at all.
func TestBinaryRunsWithoutACLibrary(t *testing.T) {
	t.Parallel()
	interp, err := dist.Interpreter(burstBin)
	if err != nil {
		t.Fatal(err)
	}
	if interp != "" {
		t.Fatalf("%s asks for the ELF interpreter %s: it is dynamically linked and needs the C library it was built against; build it with CGO_ENABLED=0 as make build does", burstBin, interp)
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
