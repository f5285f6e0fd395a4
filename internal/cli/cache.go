package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
)

// burst cache ls, rm, stats and default: the results burst reuses instead
// of computing them again (docs/cache.md).

func newCacheCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		RunE:  parentRun, // burst cache creat: unknown, listing what there is (it printed this help, exit 0)
		Short: "Results reused instead of computed twice (--cache)",
		Long: `With --cache (burst run, burst map), a task whose key matches a finished
successful task's is not run: it ends at once with that task's outputs and
logs, at no cost. The key is the SHA-256 of the task's command and
arguments, environment (less what changes per terminal or per run),
resources, project, software stack, each input's path and digest, and for a
job that is not staged its working directory. 'burst show JOB' says for
each task hit or miss, and why a miss was computed. docs/cache.md.`,
		Example: `  burst map --cache --in refs/ --out '*.out' -- ./fit {} ::: data/*.csv
  burst show 12                  # cache: 99 hits, 1 miss (input data/7.csv changed)
  burst cache ls --project mars
  burst cache stats
  burst cache rm 3fa2c1
  burst cache default mars on    # staged jobs of mars use the cache unless --no-cache`,
	}
	c.AddCommand(newCacheLsCmd(), newCacheRmCmd(), newCacheStatsCmd(), newCacheDefaultCmd())
	return c
}

func newCacheLsCmd() *cobra.Command {
	var project, out string
	c := &cobra.Command{
		Use:     "ls [--project P]",
		Aliases: []string{"list"},
		Short:   "List cached results: key, command, created, hits and money saved",
		Example: "  burst cache ls\n  burst cache ls --project mars -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.CacheEntry, error) {
				return cl.CacheList(ctx, project)
			}, renderCacheList)
		},
	}
	c.Flags().StringVar(&project, "project", "", "only this project's results")
	listFlags(c, &out)
	return c
}

func renderCacheList(w io.Writer, l []client.CacheEntry) error {
	if len(l) == 0 {
		fmt.Fprintln(w, "No cached result. Run with --cache to keep some.")
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw, "KEY\tPROJECT\tNAME\tFROM\tOUTPUTS\tCREATED\tHITS\tSAVED")
	for _, e := range l {
		key := e.Key // -q: the whole key, as -o json has it (burst cache rm takes it, or any prefix of its hex)
		if !quiet(w) {
			key = strings.TrimPrefix(key, "v1:")
			if !wide(w) {
				key = key[:min(12, len(key))]
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\tjob %d task %d\t%d\t%s\t%d\t%s\n", key, e.Project, e.Name, e.Job, e.Task, e.Outputs,
			e.CreatedAt.Local().Format("2006-01-02 15:04"), e.Hits, usd(e.SavedUSD))
	}
	return tw.Flush()
}

func newCacheRmCmd() *cobra.Command {
	var r client.CacheRemove
	c := &cobra.Command{
		Use:     "rm KEY...|--all [--project P]",
		Short:   "Forget cached results: their tasks are computed again next time",
		Example: "  burst cache rm 3fa2c1 9b04e7\n  burst cache rm --all --project mars",
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 && !r.All {
				return usage("name the results to forget (KEY prefixes from `burst cache ls`), or give --all")
			}
			r.Keys = args
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			res, err := cl.CacheRemove(c.Context(), r)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "Removed %d cached result(s) of project %s.\n", res.Removed, r.Project)
			return nil
		},
	}
	c.Flags().StringVar(&r.Project, "project", "default", "the project whose results to forget")
	c.Flags().BoolVar(&r.All, "all", false, "forget every result of the project")
	return c
}

func newCacheStatsCmd() *cobra.Command {
	var project, out string
	c := &cobra.Command{
		Use:     "stats [--project P]",
		Short:   "Per project: cached results, hits, misses and the money hits saved",
		Example: "  burst cache stats\n  burst cache stats --project mars -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.CacheStats, error) {
				return cl.CacheStats(ctx, project)
			}, func(w io.Writer, l []client.CacheStats) error {
				tw := table(w)
				fmt.Fprintln(tw, "PROJECT\tDEFAULT\tENTRIES\tHITS\tMISSES\tSAVED")
				for _, s := range l {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", s.Project, s.Default, s.Entries, s.Hits, s.Misses, usd(s.SavedUSD))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().StringVar(&project, "project", "", "only this project")
	listFlags(c, &out)
	return c
}

func newCacheDefaultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default PROJECT on|off",
		Short: "Whether a project's staged jobs use the cache unless they say --no-cache",
		Long: `Set a project's default: with on, its staged jobs (--in or --out) use the
cache unless submitted with --no-cache. Jobs that are not staged use it only
with --cache: burst cannot see the files they write in a shared directory.
Needs the owner role.`,
		Example: "  burst cache default mars on\n  burst cache default mars off",
		Args:    cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			st, err := cl.SetCacheDefault(c.Context(), client.CacheDefault{Project: args[0], Cache: args[1]})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "Project %s: the cache is %s by default for staged jobs.\n", st.Project, st.Default)
			return nil
		},
	}
}
