package cli

import (
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/slurmface"
)

func newSacctmgrCmd() *cobra.Command {
	var noHeader, parsable, parsable2 bool
	c := &cobra.Command{
		Use:   "sacctmgr [OPTIONS] list|show user|account|assoc [NAME...] [format=FIELDS]",
		Short: "Answer Slurm's sacctmgr account lookups: your burst projects as accounts",
		Long: `Answer the account lookups workflow engines make with sacctmgr: the
burst projects you may submit to (those you are a member or owner of; every
project for the server's admin) are your Slurm accounts. Only listing is
answered: list (or show) user [NAME], account, or assoc, with
format=Cluster,Account,User,Partition (%WIDTH after a name), where-clauses
name=, user=, account= and -n/--noheader, -P/--parsable2, -p/--parsable,
-s/--associations (accepted). Accounts are managed with burst project and
burst user, never here.`,
		Example: `  sacctmgr -n -s list user "$USER" format=account%20    # Snakemake --slurm's check
  burst slurm sacctmgr show assoc -P`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) < 2 || args[0] != "list" && args[0] != "show" {
				return usage("sacctmgr: burst answers `sacctmgr list user|account|assoc [NAME] [format=...]` only: manage accounts with `burst project` and `burst user`")
			}
			entity := strings.ToLower(args[1])
			switch {
			case strings.HasPrefix(entity, "user"), strings.HasPrefix(entity, "account"), strings.HasPrefix(entity, "assoc"):
			default:
				return usage("sacctmgr: list %s: burst lists user, account and assoc only", args[1])
			}
			format := "Cluster,Account,User,Partition"
			var names, accounts []string
			for _, w := range args[2:] {
				k, v, ok := strings.Cut(w, "=")
				switch k = strings.ToLower(k); {
				case !ok && (k == "where" || k == "withassoc"):
				case !ok:
					names = append(names, strings.Split(w, ",")...)
				case k == "format":
					format = v
				case k == "name" || k == "names" || k == "user" || k == "users":
					if strings.HasPrefix(entity, "account") && (k == "name" || k == "names") {
						accounts = append(accounts, strings.Split(v, ",")...)
					} else {
						names = append(names, strings.Split(v, ",")...)
					}
				case k == "account" || k == "accounts":
					accounts = append(accounts, strings.Split(v, ",")...)
				case k == "cluster" || k == "clusters":
				default:
					return usage("sacctmgr: %s: burst filters on name=, user=, account= only", w)
				}
			}
			names = slices.DeleteFunc(names, func(n string) bool { return n == "" }) // "$USER" unset
			if strings.HasPrefix(entity, "account") && len(names) > 0 {
				accounts, names = append(accounts, names...), nil
			}
			f, err := slurmface.ParseAcctFormat(format)
			if err != nil {
				return usage("sacctmgr: %v", err)
			}
			ctx := c.Context()
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			who, err := cl.Whoami(ctx)
			if err != nil {
				return err
			}
			projects := map[string]bool{}
			for _, g := range who.Grants {
				if g.Role == client.RoleMember || g.Role == client.RoleOwner {
					projects[g.Project] = true
				}
			}
			if who.Admin {
				ps, err := cl.Projects(ctx)
				if err != nil {
					return err
				}
				for _, p := range ps {
					projects[p.Name] = true
				}
			}
			// The caller's names: burst's, and the Unix one engines pass ($USER).
			me := []string{who.Name, os.Getenv("USER")}
			user := who.Name
			if len(names) > 0 {
				i := slices.IndexFunc(names, func(n string) bool { return slices.Contains(me, n) })
				if i < 0 {
					return nil // a user burst does not know here: no lines, as sacctmgr
				}
				user = names[i]
			}
			var rows []slurmface.Job
			for _, p := range slices.Sorted(maps.Keys(projects)) {
				if len(accounts) > 0 && !slices.Contains(accounts, p) {
					continue
				}
				rows = append(rows, slurmface.Job{Account: p, User: user})
			}
			return slurmface.Sacct(c.OutOrStdout(), rows, f, slurmface.SacctOptions{Parsable: slurmface.ParsableOf(parsable, parsable2), NoHeader: noHeader}, time.Now())
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&noHeader, "noheader", "n", false, "no header")
	fl.BoolVarP(&parsable, "parsable", "p", false, "fields separated by |, one after the last too")
	fl.BoolVarP(&parsable2, "parsable2", "P", false, "fields separated by |")
	fl.BoolP("associations", "s", false, "accepted: accounts are associations here")
	fl.BoolP("immediate", "i", false, "accepted")
	fl.BoolP("quiet", "Q", false, "accepted")
	return c
}
