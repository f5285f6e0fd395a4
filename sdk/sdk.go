package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnvFunc is the environment variable that makes a process a worker: it
// names the registered function to run (see Main).
const EnvFunc = "BURST_SDK_FUNC"

// Func is a function registered under a name, ready to be mapped over inputs
// with Map. In and Out travel as JSON between the caller and the tasks.
type Func[In, Out any] struct {
	name string
}

// Name is the name the function was registered under.
func (f *Func[In, Out]) Name() string { return f.name }

// runner runs a registered function on the JSON of its input and gives the
// JSON of its output.
type runner func(ctx context.Context, arg []byte) ([]byte, error)

var (
	regMu    sync.Mutex
	registry = map[string]runner{}

	// mainCalled is set by Main: Map refuses to run without it, since the
	// workers would then run the caller's whole program again.
	mainCalled atomic.Bool
)

// Register makes fn runnable by Map under name. Call it at package level
// (var square = sdk.Register("square", ...)), so that the function is
// registered in every process of the program before Main runs. It panics if
// name is empty or already registered.
//
// fn gets a context that is cancelled when burst stops the task (time limit
// reached, job cancelled, SIGTERM): return soon after; burst kills the task
// 10 s later.
func Register[In, Out any](name string, fn func(ctx context.Context, in In) (Out, error)) *Func[In, Out] {
	if name == "" {
		panic("sdk.Register: empty function name")
	}
	if fn == nil {
		panic(fmt.Sprintf("sdk.Register(%q): nil function", name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("sdk.Register: a function named %q is already registered: give each function its own name", name))
	}
	registry[name] = func(ctx context.Context, arg []byte) ([]byte, error) {
		var in In
		if err := json.Unmarshal(arg, &in); err != nil {
			return nil, &workerError{fmt.Sprintf("cannot decode the input %s as %T: %v", abbrev(arg), in, err)}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, &workerError{fmt.Sprintf("cannot encode the result (%T) as JSON: %v", out, err)}
		}
		return b, nil
	}
	return &Func[In, Out]{name: name}
}

func lookup(name string) (runner, []string) {
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registry[name]
	if ok {
		return r, nil
	}
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, names
}

// workerError is a failure of the worker machinery (not of the function):
// the worker exits 2 for it rather than 1.
type workerError struct{ msg string }

func (e *workerError) Error() string { return e.msg }

// Main must be called first in main (and in TestMain, for tests that call
// Map). In a process that burst started as a worker (EnvFunc set) it runs
// the named function on the JSON input given as the only argument, writes
// the JSON of the result on stdout and exits 0; if the function returns an
// error or panics it writes {"error": "message"} on stdout instead and exits
// 1. Whatever the function itself prints on stdout goes to stderr, so that
// stdout holds the result alone. In any other process Main returns at once.
func Main() {
	mainCalled.Store(true)
	name, ok := os.LookupEnv(EnvFunc)
	if !ok || name == "" {
		return
	}
	os.Exit(work(name, os.Args[1:]))
}

// work is the worker: it returns the exit status.
func work(name string, args []string) int {
	// Children of the function are not workers, whatever they run.
	os.Unsetenv(EnvFunc)
	result := resultFile()
	reply := func(code int, v any) int {
		b, _ := json.Marshal(v)
		if _, err := result.Write(append(b, '\n')); err != nil {
			fmt.Fprintf(os.Stderr, "burst sdk: cannot write the result: %v\n", err)
			return 2
		}
		return code
	}
	fail := func(code int, msg string) int {
		fmt.Fprintf(os.Stderr, "burst sdk: %s\n", msg)
		return reply(code, errorReply{Error: msg})
	}
	run, names := lookup(name)
	if run == nil {
		return fail(2, fmt.Sprintf("this program registers no function named %q (it registers %s): "+
			"call sdk.Register at package level, not after sdk.Main, and run the same binary that called sdk.Map",
			name, quoteList(names)))
	}
	if len(args) != 1 {
		return fail(2, fmt.Sprintf("a worker takes one argument, the JSON of its input; got %d", len(args)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills, as it would without us
	}()
	out, err := call(ctx, run, []byte(args[0]))
	stop()
	if err != nil {
		var we *workerError
		if errors.As(err, &we) {
			return fail(2, err.Error())
		}
		return fail(1, err.Error())
	}
	if _, err := result.Write(append(out, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "burst sdk: cannot write the result: %v\n", err)
		return 2
	}
	return 0
}

// errorReply is what a worker writes on stdout when its function failed.
type errorReply struct {
	Error string `json:"error"`
}

// call runs the function, turning a panic into an error (its stack goes to
// stderr, which ends up in the task's log).
func call(ctx context.Context, run runner, arg []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "panic: %v\n\n%s", p, debug.Stack())
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return run(ctx, arg)
}

// resultFile is where the result goes: the original stdout. File
// descriptor 1 is pointed at stderr, so that whatever the function (or a C
// library, or a child process) prints cannot corrupt the result.
func resultFile() io.Writer {
	fd, err := unix.Dup(1)
	if err != nil {
		return os.Stdout
	}
	if err := unix.Dup2(2, 1); err != nil {
		unix.Close(fd)
		return os.Stdout
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "result")
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// abbrev shortens a JSON text for an error message.
func abbrev(b []byte) string {
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
