package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/drill"
)

func newPlanCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print what 'kdrill run' would do, step by step, without touching anything",
		Long: `Prints, for each chosen scenario in the order run would drill them, the fault
and the node it hits, what must hold while it lasts, which mitigation
should act, the SLO bounds, and how the fault is reverted. It reads no
cluster and changes nothing; it takes the same flags as run.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, opts, err := drillPlan(o)
			if err != nil {
				return err
			}
			// kind names the control-plane node after the cluster.
			cp := o.name + "-control-plane"
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Plan for cluster %q: %d scenario(s), one at a time; each waits for a healthy cluster first.\n", o.name, len(ids))
			for i, id := range ids {
				s, err := drill.Plan(id, cp, opts)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "\n%d. %s\n", i+1, id)
				fmt.Fprintf(out, "   fault:      %s\n", s.Fault)
				fmt.Fprintf(out, "   must hold:  %s\n", s.MustHold)
				fmt.Fprintf(out, "   mitigation: %s\n", s.Mitigation)
				fmt.Fprintf(out, "   SLO:        %s\n", s.SLO)
				fmt.Fprintf(out, "   revert:     %s\n", s.Revert)
			}
			return nil
		},
	}
	addDrillFlags(cmd, &o)
	return cmd
}
