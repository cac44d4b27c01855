package aws

import (
	"context"
	"errors"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// A guest crash is the fault the seed's status-check alarm exists for: EC2
// keeps running the instance, the system in it stops answering, the
// instance status check fails, and after 2 failed minutes the alarm reboots
// it. StopInstances cannot produce it: a stopped instance reports no status
// checks, so the alarm has nothing to act on. CrashNode makes the crash
// with the EC2 API built for it; NodeImpaired, AlarmState and
// AlarmFiredSince observe what follows; RebootNode is the manual recovery.

// CrashNode crashes the system of the node's instance while EC2 keeps
// running it: SendDiagnosticInterrupt sends the instance a non-maskable
// interrupt, on which a Linux guest with kernel.unknown_nmi_panic=1
// panics. The instance must be running; an instance in another state, or
// one EC2 cannot interrupt (instance types without diagnostic interrupt
// support), is a UserError. The call returns once EC2 accepted the
// interrupt: whether the guest crashed shows in NodeImpaired a minute or
// two later, as EC2's status checks run.
func (p *Provider) CrashNode(ctx context.Context, node string) error {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return err
	}
	in, err := p.describe(ctx, id)
	if err != nil {
		return err
	}
	if st := stateOf(in); st != ec2types.InstanceStateNameRunning {
		return userErrorf("instance %s (node %s) is %s; only a running instance can be crashed", id, node, st)
	}
	_, err = p.ec2.SendDiagnosticInterrupt(ctx, &ec2.SendDiagnosticInterruptInput{InstanceId: awssdk.String(id)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "UnsupportedOperation", "Unsupported":
				return userErrorf("instance %s (node %s) cannot be crashed: EC2 refuses it a diagnostic interrupt (%s); EC2 supports them on Nitro-based instance types only", id, node, ae.ErrorMessage())
			case "IncorrectInstanceState", "IncorrectState":
				return userErrorf("instance %s (node %s) cannot be crashed: %s", id, node, ae.ErrorMessage())
			}
		}
		return p.classify(fmt.Errorf("crash node %s (%s): send diagnostic interrupt: %w", node, id, err))
	}
	return nil
}

// NodeImpaired reports whether the instance status check of the node's
// instance fails (DescribeInstanceStatus: instance status "impaired"), as
// it does when the guest crashed or hung while EC2 runs the instance. An
// instance that is not running has no status checks, and is not impaired;
// neither is one whose checks are still initializing.
func (p *Provider) NodeImpaired(ctx context.Context, node string) (bool, error) {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return false, err
	}
	out, err := p.ec2.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		InstanceIds:         []string{id},
		IncludeAllInstances: awssdk.Bool(true),
	})
	if err != nil {
		return false, p.classify(fmt.Errorf("status checks of node %s (%s): %w", node, id, err))
	}
	for _, st := range out.InstanceStatuses {
		if awssdk.ToString(st.InstanceId) == id && st.InstanceStatus != nil {
			return st.InstanceStatus.Status == ec2types.SummaryStatusImpaired, nil
		}
	}
	return false, fmt.Errorf("status checks of node %s (%s): EC2 returned none", node, id)
}

// RebootNode reboots the node's instance (RebootInstances), as the alarm's
// reboot action does: the recovery to use by hand when no alarm acts. Only
// a running instance (crashed or hung ones included) can be rebooted; any
// other state is a UserError.
func (p *Provider) RebootNode(ctx context.Context, node string) error {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return err
	}
	_, err = p.ec2.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "IncorrectInstanceState" || ae.ErrorCode() == "UnsupportedOperation") {
			return userErrorf("instance %s (node %s) cannot be rebooted: %s", id, node, ae.ErrorMessage())
		}
		return p.classify(fmt.Errorf("reboot node %s (%s): %w", node, id, err))
	}
	return nil
}
