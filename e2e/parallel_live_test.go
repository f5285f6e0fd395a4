package e2e

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// man parallel, --line-buffer: "GNU parallel will print a full line, but
// will allow for mixing lines of different jobs"; --ungroup: "Output is
// printed as soon as possible". Each task prints its first output, then
// waits for a file the test makes only once that output has come: with
// the output printed at the task's end (--group) it never would. What
// both print in the end is what parallel 20221122 printed (the file made
// before it runs).
func TestMapLiveOutputAsGNUParallel(t *testing.T) {
	t.Parallel()
	h, _, _, _, _, same := newParallelLab(t)
	// parallel's -u prints no tag, -k or not (--tag and --tagstring are
	// left out); --lb tags each line.
	t.Run("tags", func(t *testing.T) {
		for _, flags := range [][]string{{"-j1", "-u", "--tag"}, {"-k", "-u", "--tagstring", "T{#}"}, {"-j1", "--lb", "--tag"}} {
			same(t, flags, "sh", "-c", "echo x$1; echo y$1 >&2", "_", "{}", ":::", "a", "b")
		}
	})
	for _, c := range []struct {
		flag, first, script string
	}{
		// --lb: a whole line, as it is written.
		{"--lb", "start a\n", `echo start $1; while [ ! -e "$2" ]; do sleep 0.05; done; printf "end $1"; echo err $1 >&2`},
		// -u: the bytes as they come, no newline needed.
		{"-u", "start a", `printf "start $1"; while [ ! -e "$2" ]; do sleep 0.05; done; echo " end $1"; echo err $1 >&2`},
	} {
		t.Run(c.flag, func(t *testing.T) {
			gate := filepath.Join(h.dir, "gate"+c.flag)
			args := []string{"sh", "-c", c.script, "_", "{}", gate, ":::", "a"}
			cmd := h.command(append([]string{"map", "--quiet", c.flag, "--"}, args...)...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			p, err := startCmd(cmd)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			r := bufio.NewReader(out)
			go func() {
				b := make([]byte, len(c.first))
				n, _ := io.ReadFull(r, b)
				got <- string(b[:n])
			}()
			var first string
			ran := false // it came while the task ran
			select {
			case first = <-got:
				ran = true
			case <-time.After(cmdTimeout / 2):
			}
			writeFile(t, gate, "", 0o644) // the task may end now
			if !ran {
				first = <-got
			}
			rest, _ := io.ReadAll(r)
			b, werr := p.wait()
			if !ran || first != c.first {
				t.Errorf("burst map %s: its task's first output %q did not come while it ran (%q came by its end)", c.flag, c.first, first)
			}
			b.stdout = first + string(rest)
			if werr != nil {
				t.Fatalf("%s: %v", b, werr)
			}
			pr := parallelRun(t, h.dir, nil, append([]string{"-q", c.flag}, args...)...)
			if b.code != pr.code || b.stdout != pr.stdout || taskStderr(b.stderr) != pr.stderr {
				t.Errorf("burst map and GNU parallel differ on %s:\nparallel: exit %d, stdout %q, stderr %q\nburst:    exit %d, stdout %q, stderr %q",
					c.flag, pr.code, pr.stdout, pr.stderr, b.code, b.stdout, taskStderr(b.stderr))
			}
			if err := os.Remove(gate); err != nil {
				t.Fatal(err)
			}
		})
	}
}
