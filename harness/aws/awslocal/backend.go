package awslocal

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"time"
)

// Backend runs the machines behind the EC2 and SSM APIs. The server keeps
// everything EC2 itself would keep (what the API last asked of an instance,
// network ACLs, alarms, commands); the backend only reports and acts on
// machines. Instance ids are the backend's and must stay the same for the
// life of a machine.
type Backend interface {
	// Network describes the network all instances share: the VPC's
	// address ranges and the availability zones that get a subnet.
	Network(ctx context.Context) (Network, error)
	// Instances lists the machines that exist now, stopped ones included.
	// A machine that is no longer listed has been terminated.
	Instances(ctx context.Context) ([]Instance, error)
	// Start boots a stopped machine; a running one is left alone.
	Start(ctx context.Context, id string) error
	// Stop shuts a machine down cleanly or, with force, cuts its power.
	Stop(ctx context.Context, id string, force bool) error
	// Reboot restarts a machine, running or not, hung or not.
	Reboot(ctx context.Context, id string) error
	// Exec runs script with sh on a running machine and waits for it. The
	// error is for a script that could not be run at all; a script that ran
	// and failed reports its exit code in the result.
	Exec(ctx context.Context, id, script string) (ExecResult, error)
}

// Network is the VPC every instance of a backend is in.
type Network struct {
	// CIDR is the VPC's IPv4 range; every instance's private address is in it.
	CIDR string
	// IPv6CIDR is the VPC's IPv6 range, empty when it has none.
	IPv6CIDR string
	// Zones are the availability zones that have a subnet, such as
	// us-east-1a; zones of listed instances get one too.
	Zones []string
}

// Instance is one machine as the backend sees it.
type Instance struct {
	ID   string // i- followed by 17 hex digits
	Name string // the backend's own name for it, such as a container name
	Zone string // availability zone
	// PrivateIP and IPv6 are the machine's addresses on the network.
	PrivateIP string
	IPv6      string
	// Prefixes are further address ranges that belong to the machine, such
	// as the pod range of a Kubernetes node: network ACLs treat traffic
	// from and to them as the instance's own.
	Prefixes []string
	Tags     map[string]string
	ImageID  string
	// ImageName is the image's own name (a Docker image reference), the
	// AMI name DescribeImages shows; empty means none.
	ImageName    string
	InstanceType string
	LaunchTime   time.Time
	// BootTime is when the machine's operating system last started. A new
	// value tells the server that state living in the running system (the
	// firewall rules enforcing network ACLs) is gone and must be applied
	// again.
	BootTime time.Time
	// Running is true while the machine has power and its system runs.
	Running bool
	// Hung is true for a powered machine whose system does not respond
	// (a paused container); its status check fails.
	Hung    bool
	Volumes []Volume
}

// Volume is a block device attached to an instance.
type Volume struct {
	ID      string // vol- followed by 17 hex digits
	Device  string // /dev/xvda, /dev/sdf
	SizeGiB int32
	// DeleteOnTermination is false for volumes whose data outlives the
	// machine (etcd's data folder on a kind control plane).
	DeleteOnTermination bool
	// Where the volume's data lives, for the backend's own records.
	Source string
}

// ExecResult is what a script run on an instance printed and returned.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Firewall is a Backend that can enforce network ACLs inside its machines.
// Without it, network ACL entries are recorded and shown but change no
// traffic.
type Firewall interface {
	// ApplyNetworkACL replaces the rules enforced on one running instance.
	// Empty rules mean the ACL allows everything: remove all enforcement.
	ApplyNetworkACL(ctx context.Context, id string, rules ACLRules) error
}

// ACLRules is a subnet's network ACL as one of its instances enforces it.
// Network ACLs filter traffic that crosses the subnet's edge only, so
// traffic with the subnet's own addresses (Local) is never filtered.
type ACLRules struct {
	ACLID string
	// Local are the addresses and ranges of every instance in the subnet,
	// the instance itself included.
	Local []string
	// Ingress and Egress are the entries in evaluation order (lowest rule
	// number first); the first that matches decides. Each list ends with
	// the catch-all deny (rule number 32767).
	Ingress, Egress []ACLRule
}

// Empty reports whether there is nothing to enforce.
func (r ACLRules) Empty() bool { return len(r.Ingress) == 0 && len(r.Egress) == 0 }

// ACLRule is one network ACL entry with its address range turned into the
// concrete peers it matches.
type ACLRule struct {
	Number int32
	Allow  bool
	// Protocol is an IP protocol number as a string; "-1" is every protocol.
	Protocol string
	// FromPort and ToPort bound the destination port for TCP (6) and UDP
	// (17); both zero means every port.
	FromPort, ToPort int32
	// ICMPType and ICMPCode select ICMP (1) messages; -1 means any.
	ICMPType, ICMPCode int32
	// Peers are the ranges the rule matches: sources for ingress,
	// destinations for egress. IPv4 and IPv6 ranges may be mixed.
	Peers []string
}

// Interrupter is a Backend that can crash a machine's system the way a
// diagnostic interrupt (an NMI) crashes a guest configured to panic on one,
// for SendDiagnosticInterrupt. Without it, that call is refused as EC2
// refuses it for instance types that do not support it.
type Interrupter interface {
	// Interrupt takes a running machine's system down at once, without a
	// clean shutdown, and leaves it down until the machine is rebooted or
	// started. The server, not the backend, keeps the instance running as
	// far as EC2 is concerned.
	Interrupt(ctx context.Context, id string) error
}

// Launcher is a Backend that can create machines, for RunInstances.
type Launcher interface {
	// LaunchTemplates lists the templates RunInstances may name.
	LaunchTemplates(ctx context.Context) ([]LaunchTemplate, error)
	// Launch creates and boots one machine.
	Launch(ctx context.Context, spec LaunchSpec) (Instance, error)
}

// LaunchTemplate is a recipe for new instances.
type LaunchTemplate struct {
	ID           string // lt- followed by 17 hex digits
	Name         string
	Version      int64
	CreateTime   time.Time
	ImageID      string
	InstanceType string
	Tags         map[string]string // the template's own tags
}

// LaunchSpec says what RunInstances asked for, with the launch template
// (if any) already resolved.
type LaunchSpec struct {
	Template     *LaunchTemplate
	ImageID      string
	InstanceType string
	Zone         string
	// Tags are the tags the new instance gets, EC2's own included.
	Tags map[string]string
}

// runScript runs cmd, a shell script in a machine, and returns what it
// printed and its exit code: a script that fails is a result, not an
// error; a command that cannot run, or is cut off by ctx, is an error.
func runScript(ctx context.Context, cmd *exec.Cmd) (ExecResult, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, ctx.Err()
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		return res, err
	}
	return res, nil
}
