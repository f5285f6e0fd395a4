// Package gnutime runs a program under GNU time (/usr/bin/time -v) and reads
// the peak memory it reports: the reference the tests hold burst's own peak
// memory figures to. It is for tests; nothing in burst's binary uses it.
package gnutime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// ErrMissing says /usr/bin/time is not installed (Debian's package time).
var ErrMissing = errors.New("/usr/bin/time is missing: install the package time")

var maxRSS = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// MaxRSS runs argv under `/usr/bin/time -v` and returns its "Maximum
// resident set size (kbytes)" in bytes (GNU time's %M: ru_maxrss of wait4,
// from a process that forks, not vforks, and is itself small).
func MaxRSS(argv ...string) (int64, error) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, ErrMissing
	}
	out, err := exec.Command("/usr/bin/time", append([]string{"-v"}, argv...)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("/usr/bin/time -v %q: %v\n%s", argv, err, out)
	}
	m := maxRSS.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no maximum RSS in /usr/bin/time -v's output:\n%s", out)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10, nil
}

// TB is the part of testing.TB that ForTest uses.
type TB interface {
	Helper()
	Fatal(...any)
	Skip(...any)
}

// ForTest is MaxRSS for a test: it fails the test on an error, and when GNU
// time is missing it skips loudly, or fails under BURST_CI (CI must not skip).
func ForTest(t TB, argv ...string) int64 {
	t.Helper()
	rss, err := MaxRSS(argv...)
	if errors.Is(err, ErrMissing) {
		if os.Getenv("BURST_CI") != "" {
			t.Fatal(err.Error() + "; CI must not skip the peak-memory tests")
		}
		fmt.Fprintln(os.Stderr, "!!! SKIPPED:", err)
		t.Skip("SKIPPED LOUDLY: " + err.Error() + " to compare peak memory with")
	}
	if err != nil {
		t.Fatal(err)
	}
	return rss
}
