package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

func newTypesCmd() *cobra.Command {
	var (
		out   string
		gpu   bool
		tiers bool
	)
	c := &cobra.Command{
		Use:   "types",
		Short: "List the price catalog: machine types with their prices per hour, storage tiers per GB-month",
		Long: `List the machine types a cluster can use (--type), with their CPUs, memory,
GPUs and prices per hour, on demand and on spot, then the storage tiers with
their prices per GB-month (logs and outputs are kept on the one marked
"logs"). The prices are built into burst with their source and the date
they were read (-o json shows both); $BURST_HOME/prices.yaml overrides them,
adds types and prices your own machines.

-o json lists the machine types; with --tiers, the storage tiers.`,
		Example: `  burst types
  burst types --gpu
  burst types --tiers
  burst types -o json | jq '.[] | select(.vcpus >= 8) | {name, on_demand_usd_per_hour}'
  burst types --tiers -o json | jq '.[] | {name, usd_per_gb_month}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if tiers {
				if gpu {
					return usage("--gpu and --tiers: --gpu lists machine types, --tiers storage tiers; give one")
				}
				return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]burst.StorageTier, error) {
					return cl.Tiers(ctx)
				}, func(w io.Writer, ts []burst.StorageTier) error {
					if err := tiersTable(w, ts); err != nil {
						return err
					}
					fmt.Fprintln(w, "\n$BURST_HOME/prices.yaml overrides them (-o json shows each with its source and date).")
					return nil
				})
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (catalog, error) {
				ts, err := cl.Types(ctx, gpu)
				if err != nil || gpu {
					return catalog{types: ts}, err
				}
				tiers, err := cl.Tiers(ctx)
				if client.IsNotFound(err) {
					err = nil // a server from before tiers were listed
				}
				return catalog{types: ts, tiers: tiers}, err
			}, catalogTable)
		},
	}
	listFlags(c, &out)
	c.Flags().BoolVar(&gpu, "gpu", false, "only machine types with GPUs")
	c.Flags().BoolVar(&tiers, "tiers", false, "only the storage tiers")
	return c
}

// catalog is what `burst types` shows: as JSON, the machine types alone
// (as it always was); as a table, the storage tiers after them.
type catalog struct {
	types []burst.MachineType
	tiers []burst.StorageTier
}

func (c catalog) MarshalJSON() ([]byte, error) {
	if c.types == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(c.types)
}

func catalogTable(w io.Writer, c catalog) error {
	if err := typesTable(w, c.types); err != nil {
		return err
	}
	if len(c.tiers) > 0 {
		fmt.Fprintln(w, "\nStorage tiers:")
		if err := tiersTable(w, c.tiers); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nPrices are US dollars per hour (storage: per GB-month), from the sources the catalog names")
	fmt.Fprintln(w, "(-o json shows each with its date); $BURST_HOME/prices.yaml overrides them.")
	return nil
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
	return tw.Flush()
}

func tiersTable(w io.Writer, ts []burst.StorageTier) error {
	tw := table(w)
	fmt.Fprintln(tw, "TIER\t$/GB-MONTH\tDESCRIPTION")
	for _, t := range ts {
		desc := dash(t.Description)
		if t.Logs {
			desc += " (logs)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, rate(t.USDPerGBMonth), desc)
	}
	return tw.Flush()
}

// rateOrDash is a price per hour, or — when none is known.
func rateOrDash(dollars float64) string {
	if dollars <= 0 {
		return "—"
	}
	return rate(dollars)
}
