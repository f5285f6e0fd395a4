package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/burst-sh/burst/internal/atomicfile"
	"github.com/burst-sh/burst/internal/home"
)

// digestCache remembers the digest of each file this user hashed or sent
// before, in $BURST_HOME/digests (one small file per path), under what
// the file looked like then: its device, inode, size, and modification
// and change times to the nanosecond. A file that looks the same is not
// read again to be named: asked about by its digest, a file the store
// holds is then neither read nor sent. A write to the file changes its
// change time (which no tool sets back), so a changed file is hashed
// anew. The zero digestCache remembers nothing.
type digestCache struct{ dir string }

// userDigests is the cache of the user's $BURST_HOME, when that exists
// (a client never makes a home of its own).
func userDigests() digestCache {
	h, err := home.Resolve()
	if err != nil {
		return digestCache{}
	}
	if fi, err := os.Stat(string(h)); err != nil || !fi.IsDir() {
		return digestCache{}
	}
	return digestCache{dir: filepath.Join(string(h), "digests")}
}

// stamp is what the file fi of path looks like; "" when it cannot tell.
func fileStamp(path string, fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	abs, err := filepath.Abs(path)
	if !ok || err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return fmt.Sprintf("%s\x00%d %d %d %d %d", abs, st.Dev, st.Ino, fi.Size(), st.Mtim.Nano(), st.Ctim.Nano())
}

func (d digestCache) entry(stamp string) string {
	abs, _, _ := strings.Cut(stamp, "\x00")
	s := sha256.Sum256([]byte(abs))
	return filepath.Join(d.dir, hex.EncodeToString(s[:16]))
}

// get is the digest remembered for the file as it looks now, or "".
func (d digestCache) get(stamp string) string {
	if d.dir == "" || stamp == "" {
		return ""
	}
	b, err := os.ReadFile(d.entry(stamp))
	if err != nil {
		return ""
	}
	was, digest, ok := strings.Cut(string(b), "\n")
	if !ok || was != stamp || checkRef(BlobRef{Digest: digest}) != nil {
		return ""
	}
	return digest
}

// settled says whether the file fi was last changed long enough ago that
// a write after it was read would show in its change time (whose clock
// may tick coarsely): a file changed just now is not remembered.
func settled(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && time.Since(time.Unix(0, st.Ctim.Nano())) > settleTime
}

// settleTime is how long ago a file must have changed to be remembered.
var settleTime = 2 * time.Second

// put remembers digest for the file as it looked (stamp, of fi) when it
// was read; a cache that cannot be written is only a cache.
func (d digestCache) put(stamp string, fi os.FileInfo, digest string) {
	if d.dir == "" || stamp == "" || !settled(fi) {
		return
	}
	if os.MkdirAll(d.dir, 0o700) == nil {
		atomicfile.Write(d.entry(stamp), []byte(stamp+"\n"+digest))
	}
}

// forget drops what is remembered of the file.
func (d digestCache) forget(stamp string) {
	if d.dir != "" && stamp != "" {
		os.Remove(d.entry(stamp))
	}
}
