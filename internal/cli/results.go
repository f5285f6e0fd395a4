package cli

import (
	"encoding/json"
	"fmt"

	"github.com/burst-sh/burst"

	"github.com/spf13/cobra"
)

func newResultsCmd() *cobra.Command {
	var (
		out    string
		noWait bool
		fetchF bool
	)
	c := &cobra.Command{
		Use:   "results JOB [--fetch [DIR]]",
		Short: "Print every task's output of a job, in input order",
		Long: `Print the stdout of every task of a job (a map's tasks in input order),
waiting for tasks that have not finished. With -o json, print one record per
task instead: its index, inputs, state, attempt, exit code, reason and the
paths of its stdout and stderr files.

With --fetch, download instead the files the job's tasks uploaded as outputs
(--out) into DIR (default .) at their relative paths, once the job ended.
When two tasks of a map left a file at the same path, each task's files go
under DIR/<task index>/ (said on stderr). A file already there with the
same content is left alone; every file is checked against its hash.`,
		Example: `  burst results 12 > all.txt
  burst results 12 --fetch                 # outputs into .
  burst results 12 --fetch out/            # ... into out/
  burst results 12 -o json | jq -r '.[] | select(.state != "succeeded") | .input[0]'`,
		Args: argsAtLeast(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if len(args) > 2 || len(args) == 2 && !fetchF {
				return usage("results takes one job id (and, with --fetch, one directory): %q is extra", args[len(args)-1])
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if fetchF {
				dir := "."
				if len(args) == 2 {
					dir = args[1]
				}
				j := (*burst.Job)(nil)
				if !noWait {
					j, err = waitJob(c.Context(), cl, id)
				} else {
					j, err = cl.Job(c.Context(), id)
				}
				if err != nil {
					return err
				}
				if j.Spec != nil && len(j.Spec.Outputs) == 0 {
					return usage("job %d declared no outputs (--out GLOB): nothing is kept to fetch; its output is in `burst logs %d`", id, id)
				}
				return fetchAfter(c.Context(), c, cl, id, j.Tasks.Total, dir)
			}
			// Reads: each is asked again if the server goes away under it.
			j, err := cl.Job(c.Context(), id)
			if err != nil {
				return err
			}
			if out == "table" {
				// Asked again only before its first byte: the output has no
				// offset to go on from.
				return cl.Output(c.Context(), id, 0, !noWait, c.OutOrStdout())
			}
			if !noWait {
				if _, err := waitJob(c.Context(), cl, id); err != nil {
					return err
				}
			}
			// A JSON array (a YAML sequence) written a page at a time: 10^6
			// tasks never sit in memory at once.
			w := c.OutOrStdout()
			if out == fmtJSON {
				fmt.Fprint(w, "[")
			}
			first := true
			for from := 0; from < j.Tasks.Total; {
				page, err := cl.Results(c.Context(), id, from, 1000, false)
				if err != nil {
					return err
				}
				if len(page) == 0 {
					break
				}
				for _, r := range page {
					if out == fmtYAML {
						if err := writeYAML(w, []any{r}); err != nil {
							return err
						}
						first = false
						continue
					}
					b, _ := json.Marshal(r)
					if !first {
						fmt.Fprint(w, ",")
					}
					first = false
					fmt.Fprintf(w, "\n  %s", b)
				}
				from = page[len(page)-1].Index + 1
			}
			switch {
			case out == fmtJSON:
				fmt.Fprintln(w, "\n]")
			case first:
				fmt.Fprintln(w, "[]") // YAML's empty sequence
			}
			return nil
		},
	}
	outFlag(c, &out)
	c.Flags().Lookup("output").Usage = "output format: table (the tasks' stdout), or json or yaml (one record per task)"
	c.Flags().BoolVar(&fetchF, "fetch", false, "download the tasks' --out files into DIR (the argument after the job id; default .)")
	c.Flags().BoolVar(&noWait, "no-wait", false, "print only what has finished, in order, up to the first task still to finish")
	return c
}
