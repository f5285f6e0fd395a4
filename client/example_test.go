package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// localClient connects to the local server of ~/.burst (start it with
// `burst server`, or run any burst command once).
func localClient() *client.Client {
	home, err := os.UserHomeDir()
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join(home, ".burst")
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		log.Fatalf("no burst token (%v): run `burst server` first", err)
	}
	c, err := client.New("unix://"+filepath.Join(dir, "burst.sock"), strings.TrimSpace(string(token)))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleClient_RunCommand() {
	ctx := context.Background()
	c := localClient()
	job, err := c.RunCommand(ctx, []string{"python3", "-c", "print(6*7)"}, burst.Resources{CPUs: 1})
	var je *client.JobError
	switch {
	case errors.As(err, &je):
		log.Fatalf("the command failed: %v", err) // job.State, job.ExitCode, job.Reason say how
	case err != nil:
		log.Fatal(err)
	}
	// The command's stdout, as the task wrote it.
	if err := c.Logs(ctx, job.ID, client.LogsQuery{Stream: "stdout"}, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func ExampleClient_MapCommand() {
	ctx := context.Background()
	c := localClient()
	inputs := []string{"a.csv", "b.csv", "c.csv"}
	job, err := c.MapCommand(ctx, []string{"wc", "-l", "{}"}, inputs, burst.Resources{CPUs: 1, MemBytes: 512 << 20})
	var je *client.JobError
	if err != nil && !errors.As(err, &je) {
		log.Fatal(err) // the job could not run at all
	}
	// One result per input, in input order, with each task's stdout inline.
	for from := 0; from < job.Tasks.Total; {
		page, err := c.Results(ctx, job.ID, from, 1000, true)
		if err != nil {
			log.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			switch {
			case r.State != burst.Succeeded:
				fmt.Printf("%s: %s %s\n", r.Input[0], r.State, r.Reason)
			case r.Output != nil:
				fmt.Printf("%s: %s", r.Input[0], *r.Output)
			}
		}
		from = page[len(page)-1].Index + 1
	}
}
