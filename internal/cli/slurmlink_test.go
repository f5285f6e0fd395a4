package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// burst slurm link DIR prints the PATH line to run next; given a relative
// DIR, that line must still find sbatch once the shell has left the
// directory it was made in (a relative PATH entry finds it only there).
func TestSlurmLinkPathLineIsAbsolute(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "my lab") // a space: the line must quote it
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(home)
	var out, errw bytes.Buffer
	cmd := newRoot(&out, &errw)
	cmd.SetArgs([]string{"slurm", "link", "bin"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("burst slurm link bin: %v\n%s", err, errw.String())
	}
	m := regexp.MustCompile(`: (export PATH=.*)\n$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("burst slurm link printed %q; want it to end with the export PATH line", out.String())
	}
	sh := exec.Command("sh", "-c", m[1]+"; cd / && command -v sbatch")
	sh.Dir = home
	got, err := sh.CombinedOutput()
	if want := filepath.Join(home, "bin", "sbatch"); err != nil || strings.TrimSpace(string(got)) != want {
		t.Fatalf("sh -c '%s; cd / && command -v sbatch': %q, %v; want %s", m[1], got, err, want)
	}
}
