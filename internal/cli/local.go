package cli

import (
	"os"
	"path/filepath"
	"strings"
)

// maxLocal bounds how many of a command's arguments are looked up as files
// at submit: a command line of thousands of arguments costs no more than
// this many stats.
const maxLocal = 64

// localPaths are the arguments of argv that name an existing file or
// directory on this host now (relative to wd, or absolute): the files a
// machine that shares no filesystem with the server would lack. Options
// (-x, --x=y) and paths the task will make itself are not among them.
func localPaths(wd string, argv []string) []string {
	var out []string
	for i, a := range argv {
		if i >= maxLocal {
			break
		}
		if a == "" || strings.HasPrefix(a, "-") || strings.ContainsRune(a, 0) {
			continue
		}
		p := a
		if !filepath.IsAbs(p) {
			p = filepath.Join(wd, p)
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, a)
		}
	}
	return out
}
