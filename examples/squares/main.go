// Command squares maps a Go function over the numbers 1 to 20 as one burst
// job: each number is squared by its own task, in parallel, and the results
// come back in input order. Run it with `go run ./examples/squares`.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/burst-sh/burst/sdk"
)

// square is registered at package level, so that it exists in every process
// of this program: the one that calls sdk.Map and the workers that burst
// starts, which are this same program run again.
var square = sdk.Register("square", func(ctx context.Context, n int) (int, error) {
	if n == 13 {
		return 0, errors.New("13 is unlucky: refusing to square it")
	}
	return n * n, nil
})

func main() {
	// First thing in main: when burst started this program as a worker,
	// sdk.Main runs the function on its input and exits. Otherwise it
	// returns at once and the program goes on.
	sdk.Main()

	ctx := context.Background()
	c, err := sdk.Connect(ctx) // the local burst server, started if need be
	if err != nil {
		log.Fatal(err)
	}
	inputs := make([]int, 20)
	for i := range inputs {
		inputs[i] = i + 1
	}
	outs, errs, err := sdk.Map(ctx, c, square, inputs, sdk.WithCPUs(1))
	if err != nil {
		log.Fatal(err) // the job as a whole could not run
	}
	failed := 0
	for i, n := range inputs {
		if errs[i] != nil {
			failed++
			fmt.Printf("%2d: error: %v\n", n, errs[i])
			continue
		}
		fmt.Printf("%2d² = %d\n", n, outs[i])
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d inputs failed\n", failed, len(inputs))
		os.Exit(1)
	}
}
