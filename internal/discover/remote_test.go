package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BURST_SERVER naming another machine, with no BURST_TOKEN and no login
// for it: this home's own (admin) token is never sent there; Find stops
// and says to log in. A server of this host (loopback) still gets it.
func TestFindKeepsHomeTokenHome(t *testing.T) {
	h := t.TempDir()
	if err := os.WriteFile(filepath.Join(h, "token"), []byte("homesecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BURST_HOME", h)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("BURST_TOKEN", "")
	for _, remote := range []string{"https://lab.example.org:7780", "https://10.0.0.5:7780#sha256:" + strings.Repeat("ab", 32)} {
		t.Setenv("BURST_SERVER", remote)
		addr, tok, err := Find(t.Context(), "", nil)
		if err == nil || tok != "" || !strings.Contains(err.Error(), "burst login") {
			t.Errorf("BURST_SERVER=%s: addr %q token %q err %v, want no token and `burst login`", remote, addr, tok, err)
		}
	}
	for _, local := range []string{"http://127.0.0.1:7780", "https://localhost:7780", "unix:///tmp/x.sock"} {
		t.Setenv("BURST_SERVER", local)
		_, tok, err := Find(t.Context(), "", nil)
		if err != nil || tok != "homesecret" {
			t.Errorf("BURST_SERVER=%s: token %q err %v, want the home's token", local, tok, err)
		}
	}
}
