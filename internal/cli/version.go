package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print burst's version",
		Example: `  burst version
  burst --version           # the same`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintf(c.OutOrStdout(), "burst %s (%s %s/%s)\n", burst.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
