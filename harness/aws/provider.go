package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
)

// The Provider is a drill target whose machines kdrill can stop and start.
var (
	_ harness.Target  = (*Provider)(nil)
	_ faults.Machines = (*Provider)(nil)
)

// Provider is a cluster of EC2 instances picked by tags. Make one with Open.
type Provider struct {
	o      Options
	region string

	ec2     *ec2.Client
	cw      *cloudwatch.Client
	ssm     *ssm.Client
	s3      *s3.Client
	presign *s3.PresignClient
	sts     *sts.Client

	// pollMin and pollMax bound the backoff between SSM status polls;
	// statePoll is the pause between instance state polls. Tests shorten
	// them.
	pollMin, pollMax, statePoll time.Duration

	mu  sync.Mutex
	ids map[string]string // node name → instance id, from the last listing
}

// Open loads the AWS configuration (the SDK's credential chain and region,
// with o's overrides), checks that credentials exist and work, and that the
// instances carrying every tag in o.Tags form one cluster: at least one
// instance, each with a role, exactly one control plane. Problems the user
// can fix are *UserError.
func Open(ctx context.Context, o Options) (*Provider, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var load []func(*config.LoadOptions) error
	if o.Region != "" {
		load = append(load, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			return nil, userErrorf("AWS profile %q is not in the shared config or credentials files", missing.Profile)
		}
		return nil, userErrorf("load the AWS configuration: %v", err)
	}
	if err := checkRegion(cfg.Region); err != nil {
		return nil, err
	}
	if cfg.Credentials == nil {
		return nil, &UserError{Msg: noCredentials}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, userErrorf("%s (%v)", noCredentials, err)
	}
	if o.Kubeconfig != "" {
		if _, err := clientcmd.LoadFromFile(o.Kubeconfig); err != nil {
			return nil, userErrorf("kubeconfig %s: %v", o.Kubeconfig, err)
		}
	}
	p := newProvider(cfg, o)
	insts, err := p.instances(ctx)
	if err != nil {
		return nil, err
	}
	if len(insts) == 0 {
		return nil, userErrorf("no instance in %s matches --aws-tag %s (terminated ones do not count)", p.region, o.selector())
	}
	var cps []string
	for _, in := range insts {
		if in.Role == harness.RoleControlPlane {
			cps = append(cps, in.ID)
		}
	}
	switch len(cps) {
	case 0:
		return nil, userErrorf("none of the %d instances matching --aws-tag %s has %s=%s", len(insts), o.selector(), o.RoleTagKey, harness.RoleControlPlane)
	case 1:
	default:
		return nil, userErrorf("%d instances matching --aws-tag %s have %s=%s (%s): kdrill drills a single control plane; narrow the selector",
			len(cps), o.selector(), o.RoleTagKey, harness.RoleControlPlane, strings.Join(cps, ", "))
	}
	return p, nil
}

const noCredentials = "no AWS credentials found: set --aws-profile or AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance role or SSO session provides them"

// newProvider makes the service clients. Every client gets the endpoint
// override and, in a dry run, the middleware that keeps mutating calls in.
func newProvider(cfg awssdk.Config, o Options) *Provider {
	var apiOptions []func(*middleware.Stack) error
	if o.DryRun {
		apiOptions = append(apiOptions, dryRunMiddleware(o.DryRunOut))
	}
	// Library code never prints: the SDK's own log lines go to slog.
	cfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		slog.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk")
	})
	var base *string
	if o.Endpoint != "" {
		base = awssdk.String(o.Endpoint)
	}
	p := &Provider{
		o:         o,
		region:    cfg.Region,
		pollMin:   250 * time.Millisecond,
		pollMax:   2 * time.Second,
		statePoll: 5 * time.Second,
		ids:       map[string]string{},
	}
	p.sts = sts.NewFromConfig(cfg, func(so *sts.Options) {
		so.BaseEndpoint = base
	})
	p.ec2 = ec2.NewFromConfig(cfg, func(so *ec2.Options) {
		so.BaseEndpoint = base
		so.APIOptions = append(so.APIOptions, apiOptions...)
	})
	p.cw = cloudwatch.NewFromConfig(cfg, func(so *cloudwatch.Options) {
		so.BaseEndpoint = base
		so.APIOptions = append(so.APIOptions, apiOptions...)
	})
	p.ssm = ssm.NewFromConfig(cfg, func(so *ssm.Options) {
		so.BaseEndpoint = base
		so.APIOptions = append(so.APIOptions, apiOptions...)
	})
	s3Options := func(so *s3.Options) {
		so.BaseEndpoint = base
		so.UsePathStyle = base != nil
		// Objects without a checksum (uploaded without one) are normal
		// for snapshots other tools made; the snapshot's own sha256
		// trailer is what kdrill checks.
		so.DisableLogOutputChecksumValidationSkipped = true
	}
	p.s3 = s3.NewFromConfig(cfg, s3Options, func(so *s3.Options) {
		so.APIOptions = append(so.APIOptions, apiOptions...)
	})
	// Presigning signs a URL here and sends nothing, so a dry run does
	// not hold it back: the command that would use the URL shows instead.
	p.presign = s3.NewPresignClient(s3.NewFromConfig(cfg, s3Options))
	return p
}

// Region is the region the provider acts in.
func (p *Provider) Region() string { return p.region }

// KubeconfigPath implements harness.Target.
func (p *Provider) KubeconfigPath() string { return p.o.Kubeconfig }

// WorkloadURL implements harness.Target.
func (p *Provider) WorkloadURL() string { return p.o.WorkloadURL }

// RESTConfig implements harness.Target: the admin credentials in the
// kubeconfig file.
func (p *Provider) RESTConfig() (*rest.Config, error) {
	if p.o.Kubeconfig == "" {
		return nil, &UserError{Msg: "no kubeconfig given for the AWS cluster: pass --kubeconfig"}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", p.o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", p.o.Kubeconfig, err)
	}
	return cfg, nil
}

// instance is what kdrill needs of one EC2 instance.
type instance struct {
	ID        string
	Node      string // Kubernetes node name
	Role      harness.Role
	Zone      string
	SubnetID  string
	PrivateIP string
	IPv6      string
	State     ec2types.InstanceStateName
	Tags      map[string]string
	raw       ec2types.Instance
}

// filters selects the cluster's instances: every tag, any state but
// terminated.
func (p *Provider) filters() []ec2types.Filter {
	keys := make([]string, 0, len(p.o.Tags))
	for k := range p.o.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fs []ec2types.Filter
	for _, k := range keys {
		fs = append(fs, ec2types.Filter{Name: awssdk.String("tag:" + k), Values: []string{p.o.Tags[k]}})
	}
	fs = append(fs, ec2types.Filter{
		Name:   awssdk.String("instance-state-name"),
		Values: []string{"pending", "running", "shutting-down", "stopping", "stopped"},
	})
	return fs
}

// instances lists the cluster's instances, sorted by node name, and
// remembers their node names. Instances retired by Reprovision are left
// out; any other instance without a known role is an error.
func (p *Provider) instances(ctx context.Context) ([]instance, error) {
	var out []instance
	pages := ec2.NewDescribeInstancesPaginator(p.ec2, &ec2.DescribeInstancesInput{Filters: p.filters()})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, p.classify(fmt.Errorf("list instances tagged %s: %w", p.o.selector(), err))
		}
		for _, r := range page.Reservations {
			for _, raw := range r.Instances {
				in, err := p.toInstance(raw)
				if err != nil {
					return nil, err
				}
				if in.Role == RoleRetired {
					continue
				}
				out = append(out, in)
			}
		}
	}
	slices.SortFunc(out, func(a, b instance) int { return strings.Compare(a.Node, b.Node) })
	ids := make(map[string]string, len(out))
	for _, in := range out {
		if other, dup := ids[in.Node]; dup {
			return nil, userErrorf("instances %s and %s both have node name %s; give one a %s tag", other, in.ID, in.Node, NodeTagKey)
		}
		ids[in.Node] = in.ID
	}
	p.mu.Lock()
	p.ids = ids
	p.mu.Unlock()
	return out, nil
}

func (p *Provider) toInstance(raw ec2types.Instance) (instance, error) {
	in := instance{
		ID:        awssdk.ToString(raw.InstanceId),
		SubnetID:  awssdk.ToString(raw.SubnetId),
		PrivateIP: awssdk.ToString(raw.PrivateIpAddress),
		IPv6:      awssdk.ToString(raw.Ipv6Address),
		Tags:      map[string]string{},
		raw:       raw,
	}
	if raw.Placement != nil {
		in.Zone = awssdk.ToString(raw.Placement.AvailabilityZone)
	}
	if raw.State != nil {
		in.State = raw.State.Name
	}
	for _, t := range raw.Tags {
		in.Tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	in.Node = in.Tags[NodeTagKey]
	if in.Node == "" {
		in.Node = awssdk.ToString(raw.PrivateDnsName)
	}
	if in.Node == "" {
		in.Node = in.ID
	}
	role, ok := in.Tags[p.o.RoleTagKey]
	switch {
	case !ok:
		return in, userErrorf("instance %s matches --aws-tag %s but has no %s tag (want %s or %s)", in.ID, p.o.selector(), p.o.RoleTagKey, harness.RoleControlPlane, harness.RoleWorker)
	case role == string(harness.RoleControlPlane), role == string(harness.RoleWorker), role == RoleRetired:
		in.Role = harness.Role(role)
	default:
		return in, userErrorf("instance %s has %s=%q; want %s or %s", in.ID, p.o.RoleTagKey, role, harness.RoleControlPlane, harness.RoleWorker)
	}
	return in, nil
}

// Nodes implements harness.Target: the instances carrying every selector
// tag and not terminated. It asks EC2, not the API server.
func (p *Provider) Nodes(ctx context.Context) ([]harness.Node, error) {
	insts, err := p.instances(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]harness.Node, len(insts))
	for i, in := range insts {
		out[i] = harness.Node{Name: in.Node, Role: in.Role, Zone: in.Zone, Address: in.PrivateIP, Address6: in.IPv6}
	}
	return out, nil
}

// InstanceID returns the id of the instance behind a node name; an
// instance id is accepted as its own name.
func (p *Provider) InstanceID(ctx context.Context, node string) (string, error) {
	p.mu.Lock()
	id, ok := p.ids[node]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	insts, err := p.instances(ctx)
	if err != nil {
		return "", err
	}
	for _, in := range insts {
		if in.Node == node || in.ID == node {
			return in.ID, nil
		}
	}
	return "", fmt.Errorf("no instance tagged %s is node %s", p.o.selector(), node)
}

// cluster returns the one control-plane instance and the workers.
func (p *Provider) cluster(ctx context.Context) (cp instance, workers []instance, err error) {
	insts, err := p.instances(ctx)
	if err != nil {
		return instance{}, nil, err
	}
	var cps []instance
	for _, in := range insts {
		switch in.Role {
		case harness.RoleControlPlane:
			cps = append(cps, in)
		case harness.RoleWorker:
			workers = append(workers, in)
		}
	}
	if len(cps) != 1 {
		return instance{}, nil, fmt.Errorf("want exactly one control-plane instance tagged %s, found %d", p.o.selector(), len(cps))
	}
	return cps[0], workers, nil
}

// describe returns one instance by id, whatever its tags.
func (p *Provider) describe(ctx context.Context, id string) (ec2types.Instance, error) {
	out, err := p.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return ec2types.Instance{}, p.classify(fmt.Errorf("describe instance %s: %w", id, err))
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if awssdk.ToString(in.InstanceId) == id {
				return in, nil
			}
		}
	}
	return ec2types.Instance{}, fmt.Errorf("describe instance %s: not found", id)
}

func stateOf(in ec2types.Instance) ec2types.InstanceStateName {
	if in.State == nil {
		return ""
	}
	return in.State.Name
}

// StopNode implements faults.Machines: StopInstances, with force a stop
// that skips the guest's clean shutdown. Only a running instance can be
// stopped; any other state is a UserError.
func (p *Provider) StopNode(ctx context.Context, node string, force bool) error {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return err
	}
	in, err := p.describe(ctx, id)
	if err != nil {
		return err
	}
	if st := stateOf(in); st != ec2types.InstanceStateNameRunning {
		return userErrorf("instance %s (node %s) is %s; only a running instance can be stopped", id, node, st)
	}
	_, err = p.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: awssdk.Bool(force)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "IncorrectInstanceState" || ae.ErrorCode() == "UnsupportedOperation") {
			return userErrorf("instance %s (node %s) cannot be stopped: %s", id, node, ae.ErrorMessage())
		}
		return p.classify(fmt.Errorf("stop node %s (%s): %w", node, id, err))
	}
	return nil
}

// StartNode implements faults.Machines: an instance still stopping is
// waited for, a stopped one started, a running or pending one left alone.
func (p *Provider) StartNode(ctx context.Context, node string) error {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return err
	}
	for {
		in, err := p.describe(ctx, id)
		if err != nil {
			return err
		}
		switch st := stateOf(in); st {
		case ec2types.InstanceStateNameRunning, ec2types.InstanceStateNamePending:
			return nil
		case ec2types.InstanceStateNameStopped:
			if _, err := p.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
				return p.classify(fmt.Errorf("start node %s (%s): %w", node, id, err))
			}
			return nil
		case ec2types.InstanceStateNameStopping:
			// StartInstances refuses an instance until it has stopped.
			if err := sleep(ctx, p.statePoll); err != nil {
				return fmt.Errorf("start node %s (%s): wait for it to stop: %w", node, id, err)
			}
		default:
			return fmt.Errorf("start node %s (%s): the instance is %s", node, id, st)
		}
	}
}

// MachineID implements faults.Machines: the id of the instance that has
// the node name now, asked of EC2 afresh (a replacement takes the name
// over).
func (p *Provider) MachineID(ctx context.Context, node string) (string, error) {
	insts, err := p.instances(ctx)
	if err != nil {
		return "", err
	}
	for _, in := range insts {
		if in.Node == node {
			return in.ID, nil
		}
	}
	return "", fmt.Errorf("no instance tagged %s is node %s", p.o.selector(), node)
}

// NodeRunning implements faults.Machines.
func (p *Provider) NodeRunning(ctx context.Context, node string) (bool, error) {
	id, err := p.InstanceID(ctx, node)
	if err != nil {
		return false, err
	}
	in, err := p.describe(ctx, id)
	if err != nil {
		return false, err
	}
	return stateOf(in) == ec2types.InstanceStateNameRunning, nil
}

// classify turns the AWS errors a user fixes (rejected credentials, missing
// permissions, a region that does not exist) into a *UserError that keeps
// the call's context.
func (p *Provider) classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
			"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidAccessKeyId":
			return userErrorf("AWS rejected the credentials: %v", err)
		case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
			return userErrorf("%v (docs/aws.md lists the IAM permissions kdrill needs)", err)
		case "OptInRequired":
			return userErrorf("region %s is not enabled for this account: %v", p.region, err)
		}
	}
	var dns *net.DNSError
	if p.o.Endpoint == "" && errors.As(err, &dns) && dns.IsNotFound {
		return userErrorf("AWS region %q is unknown: %s does not resolve", p.region, dns.Name)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
