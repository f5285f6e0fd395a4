// Package cleanup undoes what a benchmark set up (a burst server, a Slurm,
// temporary directories) however it ends: the functions registered with At
// run last registered first, at Run or when Fail ends the program.
package cleanup

import (
	"fmt"
	"os"
	"sync"
)

var (
	mu  sync.Mutex
	fns []func()
)

// At registers f to run at Run or Fail.
func At(f func()) {
	mu.Lock()
	defer mu.Unlock()
	fns = append(fns, f)
}

// Run runs what was registered, last first, once.
func Run() {
	mu.Lock()
	todo := fns
	fns = nil
	mu.Unlock()
	for i := len(todo) - 1; i >= 0; i-- {
		todo[i]()
	}
}

// Fail prints err after the benchmark's name, runs what was registered and
// exits 1.
func Fail(name string, err error) {
	fmt.Fprintln(os.Stderr, name+":", err)
	Run()
	os.Exit(1)
}
