package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/kind"
)

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Bring local kind drill clusters up and down"}
	var opts kind.Options
	up := &cobra.Command{
		Use:   "up",
		Short: "Create (or reuse) a kind cluster in the drill topology and deploy the workload",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			if opts.HostPort < 1 || opts.HostPort > 65534 {
				return &usageError{fmt.Sprintf("--port %d is not a usable TCP port", opts.HostPort)}
			}
			c, err := kind.Up(cmd.Context(), opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster:    %s\n", c.Name)
			fmt.Fprintf(out, "kubeconfig: %s\n", c.Kubeconfig)
			fmt.Fprintf(out, "workload:   %s\n", c.WorkloadURL())
			fmt.Fprintf(out, "etcd data:  %s\n", c.EtcdDir)
			return nil
		},
	}
	up.Flags().StringVar(&opts.Name, "name", kind.DefaultName, "cluster name")
	up.Flags().StringVar(&opts.Image, "image", "", "node image (from 'kdrill image build', or a kindest/node image)")
	up.Flags().IntVar(&opts.HostPort, "port", kind.DefaultHostPort, "first loopback port for the workload (the second worker uses the next)")
	up.Flags().StringVar(&opts.StateDir, "state-dir", kind.DefaultStateDir(), "folder for kubeconfigs and etcd data")
	up.Flags().BoolVar(&opts.Retain, "retain", false, "keep the nodes of a failed create for debugging")

	var downOpts kind.Options
	var force bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Delete a drill cluster and its state",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			downOpts.Progress = cmd.ErrOrStderr()
			// A kind cluster of that name that kdrill did not make may be
			// someone's work: deleting it takes --force.
			if exists, err := kind.Exists(downOpts.Name); err == nil && exists && !force && !kind.CreatedByKdrill(downOpts) {
				return &usageError{fmt.Sprintf("refusing to delete kind cluster %q: kdrill did not create it (no marker naming it at %s); pass --force to delete it anyway", downOpts.Name, kind.MarkerPath(downOpts))}
			}
			if err := kind.Down(cmd.Context(), downOpts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted cluster %s\n", downOpts.Name)
			return nil
		},
	}
	down.Flags().StringVar(&downOpts.Name, "name", kind.DefaultName, "cluster name")
	down.Flags().StringVar(&downOpts.StateDir, "state-dir", kind.DefaultStateDir(), "folder for kubeconfigs and etcd data")
	down.Flags().BoolVar(&force, "force", false, "delete the cluster even if kdrill did not create it")
	cmd.AddCommand(up, down)
	return cmd
}
