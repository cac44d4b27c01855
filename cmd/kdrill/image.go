package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Build kind node images without a registry"}
	var opts nodeimage.Options
	build := &cobra.Command{
		Use:   "build",
		Short: "Assemble a kind node image offline and print its tag",
		Long: `Builds Kubernetes, etcd, CoreDNS, crictl and the CNI plugins from Go modules,
a Debian root filesystem with debootstrap, and kdrill's own CNI agent and echo
workload, then assembles them into a kind node image tagged
kdrill/node:<kubernetes version>-<content hash>. Every step is cached under
--cache-dir; a second build with the same pins takes seconds.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			tag, err := nodeimage.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tag)
			return nil
		},
	}
	build.Flags().StringVar(&opts.KubernetesVersion, "kubernetes-version", nodeimage.DefaultKubernetesVersion, "Kubernetes release to build (a k8s.io/kubernetes module version)")
	build.Flags().StringVar(&opts.CacheDir, "cache-dir", nodeimage.DefaultCacheDir(), "folder for build caches and step logs")
	build.Flags().StringVar(&opts.DebianMirror, "debian-mirror", "", "Debian mirror for debootstrap (default: the host's apt source)")
	cmd.AddCommand(build)
	return cmd
}
