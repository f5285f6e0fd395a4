package diskroom

import "testing"

func TestMinFree(t *testing.T) {
	for _, c := range []struct{ size, want uint64 }{
		{0, 0}, {100 << 20, 5 << 20}, {1 << 40, 64 << 20},
	} {
		if got := MinFree(c.size); got != c.want {
			t.Errorf("MinFree(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

// The mount point of a path under /proc is /proc (its own filesystem), and
// of a file on the root filesystem at most a prefix of it.
func TestMountPoint(t *testing.T) {
	if got := MountPoint("/proc/self/status"); got != "/proc" {
		t.Errorf("MountPoint(/proc/self/status) = %q, want /proc", got)
	}
	dir := t.TempDir()
	if got := MountPoint(dir); got == "" || !(got == "/" || len(got) <= len(dir)) {
		t.Errorf("MountPoint(%s) = %q", dir, got)
	}
	if _, total, ok := Space(dir); !ok || total == 0 {
		t.Errorf("Space(%s): total %d, ok %v", dir, total, ok)
	}
	if _, _, ok := Space(dir + "/missing"); ok {
		t.Errorf("Space of a missing directory: ok")
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b`); got != "/mnt/a b" {
		t.Errorf("unescapeMount = %q", got)
	}
}
