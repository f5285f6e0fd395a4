package cli

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

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

// The completers: what the server lists, newest jobs first.
var (
	completeJobs = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		js, err := cl.Jobs(ctx, client.JobsQuery{Limit: 100})
		var out []string
		for _, j := range js {
			out = append(out, withDesc(strconv.FormatInt(j.ID, 10), string(j.State)+" "+j.Name))
		}
		return out, err
	})
	completeProjects = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ps, err := cl.Projects(ctx)
		var out []string
		for _, p := range ps {
			out = append(out, withDesc(p.Name, p.Description))
		}
		return out, err
	})
	completeClusters = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ks, err := cl.Clusters(ctx)
		var out []string
		for _, k := range ks {
			out = append(out, withDesc(k.Name, k.Provider+" "+k.Type))
		}
		return out, err
	})
	completeMachines = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ms, err := cl.MachinesIn(ctx, "")
		var out []string
		for _, m := range ms {
			out = append(out, withDesc(m.ID, m.Cluster+" "+machineState(m)))
		}
		return out, err
	})
	completeUsers = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		us, err := cl.Users(ctx)
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return out, err
	})
	completeTiers = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ts, err := cl.Tiers(ctx)
		var out []string
		for _, t := range ts {
			out = append(out, withDesc(t.Name, t.Description))
		}
		return out, err
	})
	completeTypes = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ts, err := cl.Types(ctx, false)
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out, err
	})
	completeJoinTokens = fromServer(func(ctx context.Context, cl *client.Client) ([]string, error) {
		ts, err := cl.JoinTokens(ctx)
		var out []string
		now := time.Now()
		for _, t := range ts {
			out = append(out, withDesc(strconv.FormatInt(t.ID, 10), t.Cluster+" "+t.State(now)))
		}
		return out, err
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
// command that has the flag (a string flag: --on of cluster create is a
// weekly time, not a cluster, and is left alone).
var flagCompletions = map[string]cobra.CompletionFunc{
	"project": completeProjects,
	"cluster": completeClusters,
	"on":      completeClusters,
	"tier":    completeTiers,
	"to":      completeTiers,
	"type":    completeTypes,
	"state":   fixed("queued", "running", "succeeded", "failed", "cancelled", "timeout", "lost"),
	"kind":    fixed("input", "output", "log"),
	"by":      fixed("job", "machine", "user", "day", "project", "kind", "tier"),
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
		for name, f := range flagCompletions {
			fl := c.Flags().Lookup(name)
			if fl == nil || (fl.Value.Type() != "string" && !(name == "state" && fl.Value.Type() == "stringArray")) {
				continue
			}
			if _, taken := c.GetFlagCompletionFunc(name); !taken {
				_ = c.RegisterFlagCompletionFunc(name, f)
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
