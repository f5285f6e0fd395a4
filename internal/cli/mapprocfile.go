package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// GNU parallel's -j procfile: -j names a file whose content is -j's value
// (4, +2, 50%, 0), read when the map starts and again, while burst map
// follows it, as tasks end; when it changed, the number of
// tasks at once follows it, as `scontrol update ArrayTaskThrottle` changes
// it (a lower number lets running tasks end; no new one starts until fewer
// run). A detached map (-d) reads it once.

// procfile is a -j file and what was last read from it.
type procfile struct {
	path    string
	cpus    int    // this host's CPU threads: what +N, -N and N% count
	last    string // its content as last read
	n       int    // the number of tasks at once it last gave
	said    string // the last refusal said on stderr, said once
	maxRuns int    // the most that can run at once (tasks of no CPU); 0: no bound
}

// maxProcfile bounds what is read of a -j file: a count, not a document.
const maxProcfile = 4 << 10

// jobsValue is -j's value: v itself, or, when v names a regular file and
// is not a count (parallel reads -j 4 as 4 even if a file 4 exists), that
// file's content, with the file to read again.
func jobsValue(v string, cpus int) (string, *procfile, error) {
	if _, num, _ := jobsForm(v); num != "" {
		return v, nil, nil
	}
	st, err := os.Stat(v)
	if err != nil || !st.Mode().IsRegular() {
		return v, nil, nil // not a file: parallelJobs says why it is no count
	}
	pf := &procfile{path: v, cpus: cpus}
	val, err := pf.read()
	if err != nil {
		return "", nil, usage("-j %s: %v", v, err)
	}
	return val, pf, nil
}

// read is the file's content, trimmed.
func (p *procfile) read() (string, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProcfile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxProcfile {
		return "", fmt.Errorf("the file holds more than %d bytes: write only the number of tasks at once (4, +2, 50%%) in it", maxProcfile)
	}
	p.last = strings.TrimSpace(string(b))
	return p.last, nil
}

// reread reads the file again (the follower calls it as tasks end, at
// most a few times a second: its content is compared, not its time, which
// a file system may keep coarser than two quick edits) and, when it gives
// another number of tasks at once, sets the map's throttle to it. A content
// that is no count, or a file gone, leaves the number as it was, with a
// line on stderr (once for each such content).
func (p *procfile) reread(ctx context.Context, cl *client.Client, id int64, stderr io.Writer) {
	before := p.last
	val, err := p.read()
	if err == nil && val == before {
		return
	}
	var n int
	if err == nil {
		n, err = parallelJobs(val, p.cpus)
	}
	if err != nil {
		now := burst.Plural(p.n, "task") + " at once go on"
		if p.n == 0 {
			now = "as many tasks at once as can run go on"
		}
		msg := fmt.Sprintf("burst: -j %s: %v; %s", p.path, strings.TrimPrefix(err.Error(), "burst: "), now)
		if msg != p.said {
			p.said = msg
			fmt.Fprintln(stderr, msg)
		}
		return
	}
	if p.maxRuns > 0 && n > p.maxRuns {
		n = p.maxRuns // as at the start: tasks of no CPU run at most this many at once
	}
	if n == p.n {
		return
	}
	if err := cl.Update(ctx, id, client.UpdateOptions{MaxRunning: &n}); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(stderr, "burst: -j %s: setting %s at once: %v\n", p.path, burst.Plural(n, "task"), err)
		}
		p.last = before // asked again as the next task ends
		return
	}
	p.n = n
}

// procfileSays is err, a -j value refused, naming the file it came from.
func procfileSays(pf *procfile, err error) error {
	if pf == nil {
		return err
	}
	return usage("-j %s: its content is no count: %s", pf.path, strings.TrimPrefix(err.Error(), "burst: "))
}
