package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/burst-sh/burst/internal/slurmface"
)

// getoptOpts are a command's flags as Slurm options: bool and count flags
// (-dd) take no value, the others require one.
func getoptOpts(fs *pflag.FlagSet) []slurmface.Opt {
	var opts []slurmface.Opt
	fs.VisitAll(func(f *pflag.Flag) {
		o := slurmface.Opt{Long: f.Name, Arg: slurmface.RequiredArg}
		if f.Shorthand != "" {
			o.Short = f.Shorthand[0]
		}
		switch t := f.Value.Type(); {
		case t == "bool" || t == "count":
			o.Arg = slurmface.NoArg
		case f.NoOptDefVal != "":
			o.Arg = slurmface.OptionalArg
		}
		opts = append(opts, o)
	})
	return opts
}

// withGetopt makes a personality command read its command line as Slurm's
// commands do (slurmface.Getopt: abbreviated long options such as
// `squeue --job 12`, options after arguments, getopt's errors), then run
// as cobra would have run it: help, its Args check, its RunE.
func withGetopt(c *cobra.Command) *cobra.Command {
	run, check := c.RunE, c.Args
	c.DisableFlagParsing = true
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		c.DisableFlagParsing = false
		defer func() { c.DisableFlagParsing = true }()
		c.InitDefaultHelpFlag()
		got, rest, err := slurmface.Getopt(c.Name(), getoptOpts(c.Flags()), args, false)
		if err != nil {
			return optUsage(err)
		}
		if err := c.ParseFlags(slurmface.Canonical(got, rest)); err != nil {
			return usage("%s: %v", c.Name(), err)
		}
		if h, _ := c.Flags().GetBool("help"); h {
			return c.Help()
		}
		rest = c.Flags().Args()
		if check != nil {
			if err := check(c, rest); err != nil {
				return err
			}
		}
		return run(c, rest)
	}
	return c
}
