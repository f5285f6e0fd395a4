package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newTypesCmd() *cobra.Command {
	var (
		out string
		gpu bool
	)
	c := &cobra.Command{
		Use:   "types",
		Short: "List the machine types of the price catalog, with their prices per hour",
		Long: `List the machine types a cluster can use (--type), with their CPUs, memory,
GPUs and prices per hour, on demand and on spot. The prices are built into
burst with their source and the date they were read (-o json shows both);
$BURST_HOME/prices.yaml overrides them, adds types and prices your own
machines.`,
		Example: `  burst types
  burst types --gpu
  burst types -o json | jq '.[] | select(.vcpus >= 8) | {name, on_demand_usd_per_hour}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return fetchRead(c, out, func(ctx context.Context, cl *client.Client) ([]burst.MachineType, error) {
				return cl.Types(ctx, gpu)
			}, typesTable)
		},
	}
	outFlag(c, &out)
	c.Flags().BoolVar(&gpu, "gpu", false, "only types with GPUs")
	return c
}

func typesTable(w io.Writer, ts []burst.MachineType) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tVCPUS\tMEM\tGPUS\tON-DEMAND $/H\tSPOT $/H")
	for _, t := range ts {
		gpus := "-"
		if t.GPUs > 0 {
			gpus = fmt.Sprintf("%d×%s", t.GPUs, dash(t.GPUModel))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", t.Name, t.VCPUs, bytesHuman(t.MemBytes), gpus,
			rateOrDash(t.OnDemandUSD), rateOrDash(t.SpotUSD))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPrices are US dollars per hour, from the sources the catalog names (-o json shows each with its date);")
	fmt.Fprintln(w, "$BURST_HOME/prices.yaml overrides them.")
	return nil
}

// rateOrDash is a price per hour, or — when none is known.
func rateOrDash(dollars float64) string {
	if dollars <= 0 {
		return "—"
	}
	return rate(dollars)
}
