package cli

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// A map's output as it comes, as GNU parallel's --line-buffer (--lb: whole
// lines, those of running tasks interleaved) and --ungroup (-u: as it is
// written) print it. The follow follows each running task's stdout and
// stderr as burst logs -f does, one follower per running task, all writing
// through one lock: the follow loop holds it but while it waits for the
// job, so a line never lands inside another's, nor inside the progress
// line or a task printed whole. Tasks are followed only while they run,
// at most maxFollowed at once: one that started and ended between two
// looks (or ran beside maxFollowed others) is printed whole as it ends,
// as without --lb. Its end's warning (--timeout) and its --joblog line
// come when it ends, after its output.

// maxFollowed bounds the tasks whose output is followed at once (two
// streams each).
const maxFollowed = 128

// follower is one running task's output being followed.
type follower struct {
	attempt  int           // the attempt followed: a later one is printed whole
	done     chan struct{} // closed when both streams ended
	received int64         // its stdout's bytes (the joblog's Receive)
	err      error
}

// live says whether the output is printed as it comes.
func (o followOpts) live() bool {
	return (o.output == outputLines || o.output == outputRaw) && o.results == nil && !o.reruns
}

// followRunning starts following the running tasks not followed yet,
// when more tasks have started (started: running and ended) than at the
// last look. Its caller holds p.mu.
func (p *taskPrinter) followRunning(started int) error {
	ctx := p.liveCtx
	if started <= p.nStarted || len(p.live) >= maxFollowed {
		return nil
	}
	p.nStarted = started
	page, err := p.cl.Tasks(ctx, p.id, 0, maxFollowed, burst.Running)
	if err != nil {
		return err
	}
	for _, t := range page {
		if len(p.live) >= maxFollowed {
			break
		}
		if t.Index < 0 || t.Index >= len(p.taken) || p.taken[t.Index] || p.live[t.Index] != nil {
			continue
		}
		if err := p.say(t); err != nil { // --verbose: its command before its output
			return err
		}
		var tag string
		if p.o.tag != nil {
			tag = p.o.tag(t)
		}
		if p.o.verbose != nil && !p.o.verboseErr { // -v: the command first, on stdout
			if err := p.livePut(p.liveOut(false, tag), []byte(p.o.verbose(t)+"\n")); err != nil {
				return err
			}
		}
		p.live[t.Index] = p.follow(ctx, t, tag)
	}
	return nil
}

// follow follows task t's stdout and stderr until it ends.
func (p *taskPrinter) follow(ctx context.Context, t burst.Task, tag string) *follower {
	f := &follower{attempt: t.Attempt, done: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex // f's fields, for the two streams
	for _, stream := range []string{"stdout", "stderr"} {
		w := &liveWriter{p: p, w: p.liveOut(stream == "stderr", tag), lines: p.o.output == outputLines}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := &countWriter{w: w}
			err := p.cl.Logs(ctx, p.id, client.LogsQuery{Task: t.Index, Stream: stream, Follow: true}, cw)
			if ferr := w.flush(); err == nil {
				err = ferr
			}
			mu.Lock()
			defer mu.Unlock()
			if stream == "stdout" {
				f.received = cw.n
			}
			if err != nil && f.err == nil {
				f.err = err
			}
		}()
	}
	go func() {
		wg.Wait()
		close(f.done)
	}()
	return f
}

// followed is the follower of task t, once it is done (nil: t was not
// followed). Its caller holds p.mu, let go while it waits.
func (p *taskPrinter) followed(t burst.Task) *follower {
	f := p.live[t.Index]
	if f == nil {
		return nil
	}
	delete(p.live, t.Index)
	p.mu.Unlock()
	<-f.done
	p.mu.Lock()
	return f
}

// stopLive stops the followers left (the follow was interrupted) and waits
// for them. Its caller holds p.mu.
func (p *taskPrinter) stopLive() {
	p.cancelLive()
	p.mu.Unlock()
	for _, f := range p.live {
		<-f.done
	}
	p.mu.Lock()
}

// liveOut is where a followed task's stdout (or stderr) goes, tagged.
func (p *taskPrinter) liveOut(stderr bool, tag string) io.Writer {
	w := p.trackNewline(p.out)
	if stderr {
		w = p.trackNewline(p.stderrAfterStdout())
	}
	if p.o.tag != nil {
		w = &tagWriter{w: w, tag: tag, start: true}
	}
	return w
}

// livePut writes b to w, the progress line out of the way, and flushes
// stdout. Its caller holds p.mu.
func (p *taskPrinter) livePut(w io.Writer, b []byte) error {
	if p.bar != nil {
		p.bar.clear()
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return p.out.Flush()
}

// liveWriter passes a followed stream on under p.mu: as it comes (-u), or
// in whole lines, the last one without a newline kept for its end (--lb).
type liveWriter struct {
	p     *taskPrinter
	w     io.Writer
	lines bool
	buf   []byte
}

func (l *liveWriter) Write(b []byte) (int, error) {
	if !l.lines {
		return len(b), l.put(b)
	}
	l.buf = append(l.buf, b...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		err := l.put(l.buf[:i+1])
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
		if err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// flush writes what is left of a last line without a newline.
func (l *liveWriter) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	err := l.put(l.buf)
	l.buf = l.buf[:0]
	return err
}

func (l *liveWriter) put(b []byte) error {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.livePut(l.w, b)
}
