package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/aws"
	"github.com/kdrill/kdrill/harness/config"
	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
)

// openTarget reaches the config's target: a kind cluster kdrill keeps the
// kubeconfig of, or the instances on AWS its tags select. It also says
// which Kubernetes version the results should name, where kdrill knows.
// With dryRun set, an AWS target holds back every call that would change
// something and writes it there instead.
func openTarget(ctx context.Context, cfg *config.Config, stateDir string, dryRun io.Writer) (harness.Target, string, error) {
	t := cfg.Target
	switch t.Provider {
	case config.AWS:
		if t.KubeContext != "" {
			return nil, "", &usageError{"target.kube_context: not supported yet; point target.kubeconfig at a file whose current context is the cluster"}
		}
		p, err := aws.Open(ctx, aws.Options{
			Region: t.AWS.Region, Endpoint: t.AWS.Endpoint, Profile: t.AWS.Profile, Tags: t.AWS.Tags,
			Kubeconfig: t.Kubeconfig, WorkloadURL: t.WorkloadURL,
			BackupBucket: t.AWS.BackupBucket, BackupPrefix: t.AWS.BackupPrefix,
			BackupInterval: cfg.Mitigations.Backups.Interval,
			DryRun:         dryRun != nil, DryRunOut: dryRun,
		})
		if err != nil {
			return nil, "", err
		}
		// The guard trusted the config's account id; the credentials
		// must be for that account, or kdrill would act on another one.
		acct, err := p.Account(ctx)
		if err != nil {
			return nil, "", err
		}
		if acct != t.AWS.AccountID {
			return nil, "", &usageError{fmt.Sprintf("refusing to act on AWS account %s: the config names %s (target.aws.account_id); nothing was touched", acct, t.AWS.AccountID)}
		}
		return p, "", nil
	default:
		c, err := kind.Get(ctx, kind.Options{Name: t.Name, StateDir: stateDir})
		if err != nil {
			return nil, "", err
		}
		return c, nodeimage.DefaultKubernetesVersion, nil
	}
}

// registry is every fault recover may find in the journal for a provider.
func registry(provider string) faults.Registry {
	r := faults.All()
	if provider == config.AWS {
		r[(&aws.NACLPartition{}).Name()] = &aws.NACLPartition{}
	}
	return r
}

// errUnreachable says recover cannot reach a journal entry's target.
func errUnreachable(e faults.Entry, why string) error {
	return &revertFailure{fmt.Errorf("journal entry %s (%s on %s %s): %s", e.ID, e.Fault, e.Target.Provider, e.Target.Name, why)}
}
