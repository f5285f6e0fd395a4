package runner

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// niceScript prints its own niceness and that of a process it starts
// (field 19 of /proc/PID/stat, after the command's name in parentheses).
const niceScript = `n() { s=$(cat /proc/$1/stat); set -- ${s##*) }; echo ${17}; }; n $$; sh -c 'cat /proc/$$/stat' | { read -r s; set -- ${s##*) }; echo ${17}; }`

// Spec.Nice: the task is born at that niceness, and so is all it starts
// (GNU parallel's --nice: "all sub commands are niced"); the agent itself,
// and the tasks it starts later without one, keep theirs.
func TestNice(t *testing.T) {
	own, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := 20 - own // the system call answers 20 - nice
	if base > 7 {
		t.Skipf("this test runs at niceness %d, above the 7 it asks for", base)
	}
	s := spec(t, "sh", "-c", niceScript)
	s.Nice = 7
	if r := run(t, s); code(r) != "0" {
		t.Fatalf("exit %s: %s", code(r), readFile(t, s.Stderr))
	}
	if got := strings.Fields(readFile(t, s.Stdout)); len(got) != 2 || got[0] != "7" || got[1] != "7" {
		t.Fatalf("a task started at niceness 7 and its child report %q, want 7 7", got)
	}
	for range 20 { // a thread that made a nice task is not used again
		s := spec(t, "sh", "-c", niceScript)
		run(t, s)
		if got := strings.Fields(readFile(t, s.Stdout)); len(got) != 2 || got[0] != strconv.Itoa(base) || got[1] != strconv.Itoa(base) {
			t.Fatalf("a task started without a niceness after one with it reports %q, want %d %d", got, base, base)
		}
	}
	if now, _ := unix.Getpriority(unix.PRIO_PROCESS, 0); now != own {
		t.Fatalf("the agent's own priority moved from %d to %d", own, now)
	}
}
