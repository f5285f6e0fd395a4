package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// burst storage ls, rm, tier and rule: what a project holds in the blob
// store, to see, delete, move between tiers and age out (docs/storage.md).

func newStorageLsCmd() *cobra.Command {
	var q client.StorageQuery
	var out string
	c := &cobra.Command{
		Use:     "ls [--project P] [--job N] [--kind input|output|log] [--tier T]",
		Aliases: []string{"list"},
		Short:   "List the blobs your projects hold, and what they cost per tier",
		Long: `List the blobs of the projects you may read (every project for an admin):
each blob's digest, size, kind, tier, the jobs that reference it, when it
was first referenced and where its bytes are; then each project's storage
per tier with its price per month at the catalog's $/GB-month (the figures
the meter charges and 'burst budget' shows), and its lifecycle rules.

A project's blob is one digest held as one kind: it is charged once,
however many jobs reference it.`,
		Example: `  burst storage ls
  burst storage ls --project mars --kind output
  burst storage ls --project mars --job 12 -o json
  burst storage ls --tier cold_hdd`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StorageList, error) {
				return cl.StorageBlobs(ctx, q)
			}, renderStorageList)
		},
	}
	c.Flags().StringVar(&q.Project, "project", "", "only this project's blobs")
	c.Flags().Int64Var(&q.Job, "job", 0, "only blobs this job references")
	c.Flags().StringVar(&q.Kind, "kind", "", "only blobs of this kind: input, output or log")
	c.Flags().StringVar(&q.Tier, "tier", "", "only blobs on this `TIER` (burst types lists them)")
	listFlags(c, &out)
	return c
}

func renderStorageList(w io.Writer, l *client.StorageList) error {
	if len(l.Blobs) == 0 {
		fmt.Fprintln(w, "No blob matches.")
	} else {
		tw := table(w)
		tw.key = 1 // -q: the digests
		fmt.Fprintln(tw, "PROJECT\tDIGEST\tSIZE\tKIND\tTIER\tJOBS\tCREATED\tWHERE")
		for _, b := range l.Blobs {
			jobs := make([]string, 0, len(b.Jobs))
			for _, j := range b.Jobs {
				if j > 0 {
					jobs = append(jobs, strconv.FormatInt(j, 10))
				}
			}
			js := strings.Join(jobs, ",")
			if js == "" {
				js = "-"
			}
			loc, _, _ := strings.Cut(b.Location, "?")
			digest := shortDigest(b.Digest)
			if wide(w) || quiet(w) {
				digest = b.Digest
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Project, digest, bytesHuman(b.Size), b.Kind, b.Tier, js,
				b.CreatedAt.UTC().Format("2006-01-02 15:04"), loc)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return renderStorageTotals(w, l)
}

// renderStorageTotals writes each project's storage per tier and its rules.
func renderStorageTotals(w io.Writer, l *client.StorageList) error {
	if len(l.Totals) == 0 {
		fmt.Fprintln(w, "Storage: none")
	} else {
		tw := table(w)
		fmt.Fprintln(tw, "PROJECT\tTIER\tSIZE\t$/GB-MONTH\t$/MONTH")
		for _, t := range l.Totals {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Project, t.Tier, bytesHuman(t.Bytes), rate(t.USDPerGBMonth), usd(t.USDPerMonth))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	renderRules(w, l.Rules)
	return nil
}

func renderRules(w io.Writer, rules []client.StorageRule) {
	for _, r := range rules {
		fmt.Fprintf(w, "Rule of %s: %s\n", r.Project, r.Words())
	}
}

// shortDigest is sha256: and the first 12 hex digits.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// storageEditFlags are the ways rm and tier pick blobs.
func storageEditFlags(c *cobra.Command, e *client.StorageEdit, olderThan *string, all bool) {
	c.Flags().StringVar(&e.Project, "project", "default", "the project whose blobs these are")
	c.Flags().Int64Var(&e.Job, "job", 0, "the blobs this job references")
	if all {
		c.Flags().BoolVar(&e.All, "all", false, "all of the project's blobs")
	} else {
		c.Flags().StringVar(olderThan, "older-than", "", "references recorded longer ago than this age: 30d, 12h, 90m")
	}
	c.Flags().BoolVar(&e.DryRun, "dry-run", false, "say what would change, change nothing")
}

// storageEdit completes e from the command line, or says what is wrong.
func storageEdit(e *client.StorageEdit, args []string, olderThan string) error {
	for _, a := range args {
		if !strings.HasPrefix(a, "sha256:") {
			return usage("%q is not a digest: use sha256:<64 hex> as `burst storage ls -o json` prints it", a)
		}
	}
	e.Digests = args
	if olderThan != "" {
		d, err := client.ParseAge(olderThan)
		if err != nil {
			return usage("--older-than: %v", err)
		}
		e.OlderThanS = int64((d + time.Second - 1) / time.Second)
	}
	n := 0
	for _, set := range []bool{len(args) > 0, e.Job != 0, e.OlderThanS != 0, e.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usage("pick blobs one way: DIGEST..., --job N, --older-than AGE (rm) or --all (tier)")
	}
	return nil
}

func newStorageRmCmd() *cobra.Command {
	var e client.StorageEdit
	var olderThan, out string
	c := &cobra.Command{
		Use:   "rm (DIGEST... | --job N | --older-than AGE) [--project P] [--dry-run]",
		Short: "Remove a project's blobs; bytes no project holds any more are deleted",
		Long: `Remove a project's references to blobs: by digest (every kind), those
of a job, or those recorded longer ago than an age. What the project no
longer holds leaves its storage at once (it is no longer charged); a blob
no project holds any more is deleted from the store (the embedded file, or
the S3 object).

The inputs of a job that has not ended are refused, naming the job: cancel
it first (burst cancel N). --dry-run says what would go and changes nothing.`,
		Example: `  burst storage rm sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --project mars
  burst storage rm --job 12 --project mars
  burst storage rm --older-than 30d --project mars --dry-run`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := storageEdit(&e, args, olderThan); err != nil {
				return err
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StorageEdited, error) {
				return cl.StorageRemove(ctx, e)
			}, func(w io.Writer, r *client.StorageEdited) error {
				if len(r.Changes) == 0 {
					what := "References dropped"
					if r.DryRun {
						what = "Would drop references only"
					}
					fmt.Fprintln(w, what+"; the project still holds those blobs through other references (see burst storage ls).")
					return nil
				}
				return renderEdited(w, r)
			})
		},
	}
	storageEditFlags(c, &e, &olderThan, false)
	outFlag(c, &out)
	return c
}

func newStorageTierCmd() *cobra.Command {
	var e client.StorageEdit
	var out string
	c := &cobra.Command{
		Use:   "tier (DIGEST... | --job N | --all) --to TIER [--project P]",
		Short: "Move a project's blobs to another storage tier (priced per GB-month)",
		Long: `Move a project's blobs to another tier of the price catalog (the tiers
and their $/GB-month: burst types). From this instant they are charged at
the new tier's price; nothing is charged twice.

With S3 storage, a tier whose catalog entry names an s3_class (e.g.
STANDARD_IA, GLACIER_IR) also gives the objects that storage class; with the
embedded store a tier is accounting only.`,
		Example: `  burst storage tier --all --to cold_hdd --project mars
  burst storage tier --job 12 --to archive --project mars
  burst storage tier sha256:9f86d0... --to ssd --project mars --dry-run`,
		RunE: func(c *cobra.Command, args []string) error {
			if e.To == "" {
				return usage("--to: name the tier (see `burst types` for the tiers)")
			}
			if err := storageEdit(&e, args, ""); err != nil {
				return err
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StorageEdited, error) {
				return cl.StorageTier(ctx, e)
			}, renderEdited)
		},
	}
	storageEditFlags(c, &e, nil, true)
	c.Flags().StringVar(&e.To, "to", "", "the tier to move to, e.g. cold_hdd")
	outFlag(c, &out)
	return c
}

func renderEdited(w io.Writer, r *client.StorageEdited) error {
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "Nothing changed: the blobs picked are there already.")
		return nil
	}
	verb := "Removed"
	if r.DryRun {
		verb = "Would change"
	}
	tw := table(w)
	fmt.Fprintln(tw, "DIGEST\tKIND\tSIZE\tFROM\tTO")
	var n int64
	for _, c := range r.Changes {
		to := c.To
		if to == "" {
			to = "(removed)"
		} else if !r.DryRun {
			verb = "Moved"
		}
		n += c.Size
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shortDigest(c.Digest), c.Kind, bytesHuman(c.Size), c.From, to)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s %s, %s.\n", verb, burst.Plural(len(r.Changes), "blob"), bytesHuman(n))
	if len(r.Deleted) > 0 {
		what := "Deleted from the store"
		if r.DryRun {
			what = "Would delete from the store"
		}
		fmt.Fprintf(w, "%s (no project holds them): %d blobs.\n", what, len(r.Deleted))
	}
	return nil
}

func newStorageRuleCmd() *cobra.Command {
	var to, after, out string
	var del, remove bool
	c := &cobra.Command{
		Use:   "rule PROJECT (--to TIER | --delete) --after AGE | rule PROJECT --remove [--to TIER | --delete]",
		Short: "Set a project's lifecycle rule: move blobs to a cheaper tier, or delete them, after an age",
		Long: `Set a lifecycle rule of a project (its owner, or an admin): its blobs
move to a cheaper tier (--to TIER), or are deleted (--delete), once that long
has passed since they were first referenced. A project may have one delete
rule and one rule per tier (e.g. cold_hdd after 30d, archive after 180d,
delete after 1y as 365d). Rules never move a blob to a dearer tier, and
never delete an input of a job that has not ended. The server applies them
every few seconds; each application is an audit event (burst events).
--remove takes rules away. burst storage ls lists them.`,
		Example: `  burst storage rule mars --to cold_hdd --after 30d
  burst storage rule mars --delete --after 90d
  burst storage rule mars --remove --delete
  burst storage rule mars --remove`,
		Args: argsAtLeast(1, "project"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usage("storage rule takes one project")
			}
			r := client.StorageRule{Project: args[0], Action: to}
			if del {
				if to != "" {
					return usage("--to and --delete: a rule does one; set two rules")
				}
				r.Action = "delete"
			}
			switch {
			case remove && after != "":
				return usage("--remove takes no --after")
			case remove:
			case r.Action == "":
				return usage("say what happens: --to TIER or --delete (with --after AGE)")
			case after == "":
				return usage("--after: how long after their first reference, e.g. 30d")
			default:
				d, err := client.ParseAge(after)
				if err != nil {
					return usage("--after: %v", err)
				}
				r.AfterS = int64(max(d/time.Second, 1))
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.StorageRule, error) {
				return cl.SetStorageRule(ctx, r)
			}, func(w io.Writer, rules []client.StorageRule) error {
				if len(rules) == 0 {
					fmt.Fprintf(w, "Project %s has no storage rule.\n", args[0])
				}
				renderRules(w, rules)
				return nil
			})
		},
	}
	c.Flags().StringVar(&to, "to", "", "the tier blobs move to, e.g. cold_hdd")
	c.Flags().BoolVar(&del, "delete", false, "delete the blobs instead")
	c.Flags().StringVar(&after, "after", "", "the age: 30d, 12h, 90m")
	c.Flags().BoolVar(&remove, "remove", false, "remove the rule (of --to TIER or --delete; without them, every rule of the project)")
	outFlag(c, &out)
	return c
}

// projectRules are the lifecycle rules of project.
func projectRules(ctx context.Context, cl *client.Client, project string) ([]client.StorageRule, error) {
	l, err := cl.StorageBlobs(ctx, client.StorageQuery{Project: project, NoBlobs: true})
	if err != nil {
		return nil, err
	}
	return l.Rules, nil
}

// rulesText is rules on one line, "-" for none.
func rulesText(rules []client.StorageRule) string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Words())
	}
	return dash(strings.Join(out, "; "))
}
