package cli

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/discover"
)

// Shell completion. `burst completion SHELL` writes cobra's script; the
// script runs `burst __complete ARGS...` at each TAB, which answers with
// the candidates: commands and flags from the command tree, and job ids,
// project, cluster, machine and user names, storage tiers and machine
// types asked of the server (completers, wired in by addCompletions).
//
// A completion asks the server the user's commands would (same
// BURST_SERVER, login or local home, so the same credential and role) but
// never starts one, waits at most completeTimeout, and on any error offers
// nothing rather than files or a message: a TAB must never hang, print an
// error into the command line, or leave a server running.

// completeTimeout bounds one completion's requests.
const completeTimeout = 2 * time.Second

// completer lists the candidates for one word, each "VALUE" or
// "VALUE\tdescription".
type completer func(ctx context.Context, cl *client.Client) ([]string, error)

// fromServer makes a cobra completion function of list: it connects
// without autostart, asks once within completeTimeout, and offers the
// candidates that start with what was typed so far (nothing on error).
func fromServer(list completer) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(c.Context(), completeTimeout)
		defer cancel()
		cl, err := discover.Connect(ctx, "", io.Discard, client.WithRetry(client.Retry{}))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		all, err := list(ctx, cl)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, s := range all {
			if strings.HasPrefix(s, toComplete) {
				out = append(out, s)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArgs completes the first n arguments with f and nothing after.
func firstArgs(n int, f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(c, args, toComplete)
	}
}

// byPosition completes argument i with fs[i], nothing after the last.
func byPosition(fs ...cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(fs) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fs[len(args)](c, args, toComplete)
	}
}

// withDesc is "value\tdescription" (the shells show the description
// beside the candidate where they can).
func withDesc(value, desc string) string {
	desc = strings.Join(strings.Fields(clean(desc)), " ")
	if desc == "" {
		return value
	}
	return value + "\t" + desc
}

// each lists what get returns, one candidate an item as cand writes it.
// (get is a client method expression: (*client.Client).Projects.)
func each[T any](get func(*client.Client, context.Context) ([]T, error), cand func(T) string) cobra.CompletionFunc {
	return fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		items, err := get(cl, ctx)
		out := make([]string, 0, len(items))
		for _, it := range items {
			out = append(out, cand(it))
		}
		return out, err
	})
}

// The completers: what the server lists (the newest jobs first), as the
// listings' -q print it, with a description where there is one.
var (
	completeJobs = each(func(cl *client.Client, ctx context.Context) ([]burst.Job, error) {
		return cl.Jobs(ctx, client.JobsQuery{Limit: 100})
	}, func(j burst.Job) string { return withDesc(strconv.FormatInt(j.ID, 10), string(j.State)+" "+j.Name) })
	completeProjects = each((*client.Client).Projects, func(p burst.Project) string { return withDesc(p.Name, p.Description) })
	completeClusters = each((*client.Client).Clusters, func(k burst.Cluster) string { return withDesc(k.Name, k.Provider+" "+k.Type) })
	completeMachines = each(func(cl *client.Client, ctx context.Context) ([]burst.Machine, error) {
		return cl.MachinesIn(ctx, "")
	}, func(m burst.Machine) string { return withDesc(m.ID, m.Cluster+" "+machineState(m)) })
	completeUsers = each((*client.Client).Users, func(u client.User) string { return u.Name })
	completeTiers = each((*client.Client).Tiers, func(t burst.StorageTier) string { return withDesc(t.Name, t.Description) })
	completeTypes = each(func(cl *client.Client, ctx context.Context) ([]burst.MachineType, error) {
		return cl.Types(ctx, false)
	}, func(t burst.MachineType) string { return t.Name })
	completeJoinTokens = each((*client.Client).JoinTokens, func(t client.JoinTokenInfo) string {
		return withDesc(strconv.FormatInt(t.ID, 10), t.Cluster+" "+t.State(time.Now()))
	})
)

// argCompletions are the arguments completed, by command path.
var argCompletions = map[string]cobra.CompletionFunc{
	"burst show":              firstArgs(1, completeJobs),
	"burst logs":              firstArgs(1, completeJobs),
	"burst results":           firstArgs(1, completeJobs),
	"burst cancel":            completeJobs,
	"burst wait":              completeJobs,
	"burst machine start":     firstArgs(1, completeMachines),
	"burst machine stop":      completeMachines,
	"burst machine terminate": completeMachines,
	"burst machine revoke":    completeMachines,
	"burst budget":            firstArgs(1, completeProjects),
	"burst project show":      firstArgs(1, completeProjects),
	"burst project set":       firstArgs(1, completeProjects),
	"burst project grant":     byPosition(completeProjects, completeUsers),
	"burst project revoke":    byPosition(completeProjects, completeUsers),
	"burst storage rule":      firstArgs(1, completeProjects),
	"burst cluster delete":    firstArgs(1, completeClusters),
	"burst user rm":           firstArgs(1, completeUsers),
	"burst user token":        firstArgs(1, completeUsers),
	"burst join-token revoke": firstArgs(1, completeJoinTokens),
}

// flagCompletions are the flag values completed, by flag name, on every
// command that has the flag with a value of type typ (--on of cluster
// create, a list of weekly times, is not a cluster and is left alone).
var flagCompletions = map[string]struct {
	typ string
	f   cobra.CompletionFunc
}{
	"project": {"string", completeProjects},
	"cluster": {"string", completeClusters},
	"on":      {"string", completeClusters},
	"tier":    {"string", completeTiers},
	"to":      {"string", completeTiers},
	"type":    {"string", completeTypes},
	"job":     {"int64", completeJobs},
	"resume":  {"int64", completeJobs},
	"state":   {"stringArray", fixed("queued", "running", "succeeded", "failed", "cancelled", "timeout", "lost")},
	"kind":    {"string", fixed("input", "output", "log")},
	"by":      {"string", fixed("job", "machine", "user", "day", "project", "kind", "tier")},
}

func fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// addCompletions wires the completers into the command tree under root.
func addCompletions(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if f, ok := argCompletions[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = f
		}
		for name, fc := range flagCompletions {
			if fl := c.Flags().Lookup(name); fl == nil || fl.Value.Type() != fc.typ {
				continue
			}
			if _, taken := c.GetFlagCompletionFunc(name); !taken {
				_ = c.RegisterFlagCompletionFunc(name, fc.f)
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
