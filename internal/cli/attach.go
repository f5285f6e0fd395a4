package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/burst-sh/burst/client"
)

// An attached command (`burst run`, `burst map`, `burst pipe` without -d)
// answers for its job: when it is told to stop, or nobody can see its
// output any more, the job is cancelled rather than left running unseen.

// cancelSignals cancel an attached job: Ctrl-C (SIGINT), and what a shell,
// a batch system or `timeout` sends (SIGTERM) or a closed terminal or SSH
// session does (SIGHUP). Left to their default, the last two would end
// the command and leave its job queued or running with nobody to see it.
// A signal the command started with ignored stays ignored (caught):
// nohup(1) ignores SIGHUP so that the command outlives the terminal, and a
// shell runs `cmd &` of a script with SIGINT ignored.
var cancelSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// caught is cancelSignals less those ignored when the command started;
// it is read once, before any of them is caught (signal.Notify un-ignores
// a signal, and signal.Ignored would say false after it).
var caught = sync.OnceValue(func() []os.Signal {
	var out []os.Signal
	for _, s := range cancelSignals {
		if !signal.Ignored(s) {
			out = append(out, s)
		}
	}
	return out
})

// errOutputGone ends a follow whose output can no longer be written: the
// reader of its pipe went away (`burst run ... | head -1`), or its terminal
// or SSH session closed (EIO). Its job is cancelled, as a local pipeline's
// writer dies of SIGPIPE.
var errOutputGone = errors.New("the output's reader went away")

// cancelWait bounds how long a command that is ending waits for the cancel
// of its job that it has sent.
const cancelWait = 5 * time.Second

// interrupts are the signals an attached command catches, from before its
// job is submitted to its end.
type interrupts struct {
	sigs chan os.Signal
	pipe chan os.Signal // SIGPIPE, caught so that a write to a closed pipe fails with EPIPE instead of killing the command

	handoff   chan struct{} // closed by take: the holder stops reading sigs
	held      chan int      // the holder's count of the signals it read
	takeOnce  sync.Once
	heldCount int
	stopOnce  sync.Once
}

// holdSignals catches cancelSignals (and SIGPIPE) from now on, before the
// job they would cancel has an id. The first one that comes while the job
// is submitted is held, and cancels the job once its id is known
// (cancelOnInterrupt); a second one ends the returned context, so that a
// submit that hangs can be stopped. Call in.release when the command ends.
func holdSignals(ctx context.Context, stderr io.Writer) (context.Context, *interrupts) {
	in := &interrupts{sigs: make(chan os.Signal, 4), pipe: make(chan os.Signal, 1),
		handoff: make(chan struct{}), held: make(chan int, 1)}
	if s := caught(); len(s) > 0 {
		signal.Notify(in.sigs, s...)
	}
	signal.Notify(in.pipe, syscall.SIGPIPE)
	ctx, stop := context.WithCancelCause(ctx)
	go func() {
		n := 0
		for {
			select {
			case <-in.sigs:
				if n++; n == 1 {
					fmt.Fprintln(stderr, "\nburst: the job will be cancelled as soon as it is submitted (again to stop at once)")
				} else {
					stop(errStoppedSubmit)
				}
			case <-in.pipe:
			case <-in.handoff:
				in.held <- n
				return
			}
		}
	}()
	return ctx, in
}

// errStoppedSubmit ends a submit that a second signal stopped.
var errStoppedSubmit = errors.New("stopped while the job was being submitted")

// submitStopped is the error of a command whose submit a second signal
// stopped (ctx is the submit's), or nil.
func submitStopped(ctx context.Context) error {
	if context.Cause(ctx) != errStoppedSubmit {
		return nil
	}
	return &ExitError{Code: 130, Msg: "stopped before the server said the job was submitted: it may be queued all the same (`burst jobs` shows it, `burst cancel ID` stops it)"}
}

// take stops holding and says how many signals came meanwhile; from now on
// the caller reads in.sigs.
func (in *interrupts) take() int {
	in.takeOnce.Do(func() {
		close(in.handoff)
		in.heldCount = <-in.held
	})
	return in.heldCount
}

// release stops catching the signals.
func (in *interrupts) release() {
	in.take()
	in.stopOnce.Do(func() {
		signal.Stop(in.sigs)
		signal.Stop(in.pipe)
	})
}

// cancelOnInterrupt makes the first Ctrl-C (or SIGTERM, or SIGHUP) cancel
// job id and the second stop waiting for it: the returned context ends
// then. Signals in held before the id was known count as if they came now
// (in may be nil: then the signals are caught from now). The writers it
// returns wrap stdout and stderr: a write that fails because nobody reads
// them any more (EPIPE, EIO) cancels the job too, and ends the context with
// errOutputGone. Call stop when done waiting: it waits a few seconds for a
// cancel it has sent.
func cancelOnInterrupt(ctx context.Context, stdout, stderr io.Writer, cl *client.Client, id int64, in *interrupts) (_ context.Context, _ outputs, stop func()) {
	own := in == nil
	if own {
		in = &interrupts{sigs: make(chan os.Signal, 2), pipe: make(chan os.Signal, 1), handoff: make(chan struct{}), held: make(chan int, 1)}
		in.takeOnce.Do(func() {}) // nothing to hand over
		if s := caught(); len(s) > 0 {
			signal.Notify(in.sigs, s...)
		}
		signal.Notify(in.pipe, syscall.SIGPIPE)
	}
	n := in.take()
	ctx, end := context.WithCancelCause(ctx)
	var (
		once      sync.Once
		cancelled = make(chan struct{})
	)
	cancelJob := func() {
		once.Do(func() {
			go func() {
				defer close(cancelled)
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				// What keeps the job from ending is said: a cancel the
				// server refused, or one it holds (its disk is full).
				switch res, err := cl.Cancel(cctx, id); {
				case err != nil:
					fmt.Fprintf(stderr, "burst: the cancel of job %d failed: %v (`burst cancel %d` asks again)\n", id, err, id)
				case res.Held != "":
					fmt.Fprintf(stderr, "burst: job %d: %s\n", id, res.Held)
				case res.AlreadyFinished:
					fmt.Fprintf(stderr, "burst: job %d had already ended (%s): nothing was cancelled\n", id, res.State)
				}
			}()
		})
	}
	gone := func() {
		cancelJob()
		end(errOutputGone)
	}
	out := outputs{stdout: &goneWriter{w: stdout, gone: gone}, stderr: &goneWriter{w: stderr, gone: gone}}
	// announce says what the first signal did, and how to stop waiting:
	// the same again (a SIGTERM from a batch system or timeout is no Ctrl-C).
	announce := func(sig os.Signal) {
		again := "Ctrl-C again"
		if sig != nil && sig != os.Interrupt {
			again = "the same signal again"
		}
		fmt.Fprintf(out.stderr, "\nburst: cancelling job %d (%s to stop waiting)\n", id, again)
		cancelJob()
	}
	switch {
	case n >= 2: // the submit went through all the same
		announce(nil)
		end(nil)
	case n == 1:
		announce(nil)
	}
	done := make(chan struct{})
	go func() {
		for {
			var sig os.Signal
			select {
			case sig = <-in.sigs:
			case <-in.pipe:
				continue
			case <-done:
				return
			}
			if n++; n == 1 {
				announce(sig)
				continue
			}
			end(nil)
			return
		}
	}()
	return ctx, out, func() {
		if own {
			in.release()
		}
		close(done)
		once.Do(func() { close(cancelled) }) // none sent: nothing to wait for
		t := time.NewTimer(cancelWait)
		select {
		case <-cancelled:
		case <-t.C:
		}
		t.Stop()
		end(nil)
	}
}

// outputs are an attached command's stdout and stderr, as cancelOnInterrupt
// wraps them.
type outputs struct{ stdout, stderr io.Writer }

// stoppedWaiting is how a follow of job id whose context ended ends: the
// reader of its output went away (141, as a writer killed by SIGPIPE), or
// a second signal stopped the wait (130) after the first sent the cancel.
func stoppedWaiting(ctx context.Context, id int64) error {
	if context.Cause(ctx) == errOutputGone {
		return &ExitError{Code: 141, Msg: fmt.Sprintf("the output's reader went away (a closed pipe or terminal): job %d was told to cancel (`burst show %d` says how it ended)", id, id)}
	}
	return &ExitError{Code: 130, Msg: fmt.Sprintf("stopped waiting; job %d was told to cancel (`burst show %d` says when it has ended; `burst cancel %d` asks again)", id, id, id)}
}

// goneWriter calls gone, before it returns, when a write fails because
// nobody reads w any more: the reader of a pipe exited (EPIPE), a terminal
// or pseudo-terminal closed (EIO).
type goneWriter struct {
	w    io.Writer
	gone func()
}

func (g *goneWriter) Write(p []byte) (int, error) {
	n, err := g.w.Write(p)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EIO)) {
		g.gone()
	}
	return n, err
}

// serverGone is err, a follow of job id's, with what became of the job
// when the client can have no server any more (client.ErrNoServer: the
// one it started kept dying, or could not start again): the job is in the
// store and goes on, and `burst wait` follows it again later.
func serverGone(err error, id int64) error {
	if !errors.Is(err, client.ErrNoServer) {
		return err
	}
	return &ExitError{Code: 1, Msg: fmt.Sprintf("%v; job %d goes on: burst wait %d", err, id, id)}
}
