package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/drill"
)

// guardNote says what 'kdrill run' will check before acting on t.
func guardNote(t config.Target) string {
	if t.Provider == config.Kind {
		return fmt.Sprintf("run drills it only if 'kdrill cluster up' created it, or the config's allow: names \"kind:%s\"", t.Name)
	}
	return fmt.Sprintf("run drills it only if the config's allow: names \"aws:%s\"%s, and after --yes or its name typed at a terminal", t.AWS.AccountID, contextNote(t))
}

func contextNote(t config.Target) string {
	if t.KubeContext == "" {
		return ""
	}
	return fmt.Sprintf(" and \"context:%s\"", t.KubeContext)
}

func newPlanCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print what 'kdrill run' would do, step by step, without touching anything",
		Long: `Prints, for each chosen scenario in the order run would drill them, the fault
and the node it hits, what must hold while it lasts, which mitigation
should act, the SLO bounds, and how the fault is reverted. It reads no
cluster and changes nothing; it takes run's config file and drill flags.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := drillConfig(cmd, o)
			if err != nil {
				return err
			}
			t := cfg.Target
			// kind names the control-plane node after the cluster.
			cp := t.Name + "-control-plane"
			if t.Provider != config.Kind {
				cp = "<control plane of " + t.Name + ">" // its node name is known only once the cluster is reached
			}
			ids := cfg.IDs()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Plan for %s: %d scenario(s), one at a time; each waits for a healthy cluster first.\n", t.Describe(), len(ids))
			fmt.Fprintf(out, "Guard: %s\n", guardNote(t))
			for i, id := range ids {
				po := cfg.Options(id)
				po.PlatformAlarm = t.Provider == config.AWS
				s, err := drill.Plan(id, cp, po)
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
