package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// waitingAfter is how long a job may wait before a terminal is told why;
// waitingAfterQuiet before another stderr (a log file, a pipe) is.
const (
	waitingAfter      = time.Second
	waitingAfterQuiet = 10 * time.Second
)

// showWaiting tells a person at a terminal why job id waits: once it has
// been queued for a second, it prints the server's reason to w (stderr) as
// one line, e.g. "burst: job 12 waits: needs 2 CPUs: local-1 has 0 of 2
// CPUs free, held by job 11", and a new line whenever the reason changes,
// until the job leaves the queue. When w is not a terminal (a script's
// log), one line comes after ten seconds and no other, so that a job that
// waits a moment for its turn says nothing, and one that waits for a cluster
// switched off by its schedule says why. stop ends it and waits for it to
// end; call it before writing to w again.
func showWaiting(ctx context.Context, cl *client.Client, id int64, w io.Writer) (stop func()) {
	first, tty := waitingAfter, isTerminal(w)
	if !tty {
		first = waitingAfterQuiet
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTimer(first)
		defer tick.Stop()
		last := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			j, err := cl.WithRetry(client.Retry{}).Job(ctx, id) // asked again at the next tick
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				if j.State != burst.Queued {
					return
				}
				if j.Waiting != "" && !sameWait(j.Waiting, last) {
					last = j.Waiting
					fmt.Fprintf(w, "burst: job %d waits: %s\n", id, localTimes(last))
					if !tty {
						return // a log gets the one line, as srun's "queued and waiting"
					}
				}
			}
			tick.Reset(time.Second)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// isTerminal says whether w writes to a terminal, looking through the
// wrapper an attached command puts on its outputs (goneWriter).
func isTerminal(w io.Writer) bool {
	if g, ok := w.(*goneWriter); ok {
		w = g.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// reasonRes are the patterns read in the reasons the server writes,
// compiled together when first needed, not at every start of the binary
// (one sync.OnceValue: each costs allocations at every start).
//
// figures ([0]) are the numbers in a waiting reason (free bytes, seconds
// left, counts), with their unit.
//
// serverTimes ([1]) are the instants the server writes into a job's
// reasons in RFC 3339, in UTC: "waiting until 2026-12-24T08:00:00Z
// (--begin)", "its begin time (...) came", "could no longer end by its
// --deadline ...". Only those places are matched, so that a time inside a
// file name or a command a reason quotes stays as it is.
var reasonRes = sync.OnceValue(func() [2]*regexp.Regexp {
	return [2]*regexp.Regexp{
		regexp.MustCompile(`[0-9][0-9.,]*( ?[KMGTP]?i?B\b)?`),
		regexp.MustCompile(`(until |--deadline |begin time \()([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))`),
	}
})

func figures() *regexp.Regexp     { return reasonRes()[0] }
func serverTimes() *regexp.Regexp { return reasonRes()[1] }

// sameWait says whether two waiting reasons say the same but for their
// figures ("has 3.1 MiB free" and "has 3 MiB free"): a new line is printed
// for a new reason, not for every reading of the same one.
func sameWait(a, b string) bool {
	if a == b {
		return true
	}
	return figures().ReplaceAllString(a, "#") == figures().ReplaceAllString(b, "#")
}

// localTimes is a reason the server wrote (a job's Waits or Reason) with
// its instants in this user's zone and the layout of the CLI's other times
// (burst show's Submitted and Begin), so that one job's times read in one
// zone. -o json keeps the server's text as it is.
func localTimes(s string) string {
	if !strings.ContainsRune(s, 'T') {
		return s
	}
	re := serverTimes()
	return re.ReplaceAllStringFunc(s, func(m string) string {
		sub := re.FindStringSubmatch(m)
		t, err := time.Parse(time.RFC3339Nano, sub[2])
		if err != nil {
			return m
		}
		return sub[1] + t.Local().Format("2006-01-02 15:04:05")
	})
}
