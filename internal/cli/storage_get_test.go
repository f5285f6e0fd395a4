package cli

import (
	"bytes"
	"testing"
)

// TestStorageGetSaysWhereDigestAndSizeAre: burst storage ls shows digests
// cut to 12 hex digits and sizes as "1.9 MiB", while burst storage get needs
// the whole digest and the size in bytes. A short digest or a missing --size
// is answered, before anything connects, with the listing that has them.
func TestStorageGetSaysWhereDigestAndSizeAre(t *testing.T) {
	t.Setenv("BURST_HOME", t.TempDir())
	t.Setenv("BURST_SERVER", "http://127.0.0.1:1") // nothing listens: the answer must come before a connection
	t.Setenv("BURST_TOKEN", "x")
	const whole = "sha256:f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"storage", "get", "sha256:f2ca1bb6c7e9", "--size", "5"},
			"burst: sha256:f2ca1bb6c7e9: give a blob's whole digest, sha256: and 64 hex digits (`burst storage ls -o wide` prints them whole)\n"},
		{[]string{"storage", "get", whole},
			"burst: --size N: the blob's size in bytes, as `burst storage put` printed it (`burst storage ls -o json` gives each blob's digest and size)\n"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &out, &errb); code != 2 || errb.String() != c.want {
			t.Errorf("burst %q: exit %d, %q; want exit 2, %q", c.args, code, errb.String(), c.want)
		}
	}
}
