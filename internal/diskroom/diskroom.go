// Package diskroom reads how much room a filesystem has and says which
// one it is: the server refuses new work below MinFree, and an agent whose
// task's log fills a filesystem gives back that much. It only reads
// (statfs, the mount table); it writes nothing and holds no state.
package diskroom

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MinFree is the free space below which the server takes no new work on
// a filesystem of size bytes: 5% of it, at most 64 MiB. Room for what is
// already accepted (its tasks' rows, their logs) is what it keeps.
func MinFree(size uint64) uint64 { return min(64<<20, size/20) }

// StartFree is the free space below which no task starts on a filesystem
// of size bytes (the server's placement, each agent's own gate): twice
// MinFree, the line a log cut for a full disk gives the room back down to,
// so that what starts has room for its output.
func StartFree(size uint64) uint64 { return 2 * MinFree(size) }

// Space is what the filesystem that holds dir has free (for this user)
// and its size, in bytes; ok is false when it cannot be read.
func Space(dir string) (free, total uint64, ok bool) {
	var fs syscall.Statfs_t
	if syscall.Statfs(dir, &fs) != nil {
		return 0, 0, false
	}
	return fs.Bavail * uint64(fs.Bsize), fs.Blocks * uint64(fs.Bsize), true
}

// MountPoint is the mount point of the filesystem that holds path (the
// longest mount point in /proc/self/mountinfo that contains it), or path
// itself when that cannot be read.
func MountPoint(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return path
	}
	defer f.Close()
	best := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if (path == mp || mp == "/" || strings.HasPrefix(path, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return path
	}
	return best
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
