package awslocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kdrill/kdrill/harness/internal/dockernet"
)

// Labels DockerBackend reads on containers it launched, so their zone and
// tags survive a restart of the server.
const (
	labelZone      = "awslocal.zone"
	labelTagPrefix = "awslocal.tag."
	labelType      = "awslocal.instance-type"
)

// DockerOptions configure a DockerBackend.
type DockerOptions struct {
	// Label selects the containers that are instances, as docker ps
	// --filter label= takes it: "key" or "key=value", such as
	// io.x-k8s.kind.cluster=kdrill. Required.
	Label string
	// Network is the Docker network the instances are on; its IPv4 (and
	// IPv6) range is the VPC's. The first network of the first container
	// found when empty.
	Network string
	// Zones maps container names to availability zones; containers not in
	// it are in DefaultZone ("us-east-1a" when empty).
	Zones       map[string]string
	DefaultZone string
	// Tags maps container names to their tags. Every instance also gets a
	// Name tag (its container's name) unless given one.
	Tags map[string]map[string]string
	// Prefixes maps container names to further address ranges that belong
	// to them, such as a Kubernetes node's pod range, so that network ACLs
	// cut pod traffic too.
	Prefixes map[string][]string
	// LaunchTemplates are what RunInstances can launch.
	LaunchTemplates []DockerLaunchTemplate
	// StopTimeout is how long a clean stop or reboot waits before killing;
	// 10 s when zero.
	StopTimeout time.Duration
	// Docker is the docker CLI; "docker" from PATH when empty.
	Docker string
}

// DockerLaunchTemplate is a launch template whose instances are new
// containers: docker run -d --name <Name tag or template-N> --label
// <Label> --network <Network> <RunArgs...> <Image> <Command...>.
type DockerLaunchTemplate struct {
	// Name is the template's name; its id derives from it.
	Name    string
	Image   string
	RunArgs []string
	Command []string
	// InstanceTags are tags every instance launched from it gets.
	InstanceTags map[string]string
	// Instances names containers there already that count as launched
	// from it: they carry the aws:ec2launchtemplate:id and :version tags
	// EC2 puts on such instances.
	Instances []string
}

// DockerBackend makes existing Docker containers EC2 instances, such as a
// kind cluster's node containers: instance i-<first 17 hex digits of the
// container id>, private address from the container's network, stop and
// start and reboot by docker stop/kill/start/restart, SSM commands by
// docker exec, and network ACLs by iptables rules inside the containers
// (see ApplyNetworkACL). It only ever acts on containers its label selects.
type DockerBackend struct {
	o       DockerOptions
	created time.Time

	mu       sync.Mutex
	network  string
	ranges   map[string]Network // by Docker network
	launched int
	// seen holds every address a machine of the backend has had: a
	// launched machine gets none of them (see Launch).
	seen map[netip.Addr]bool
}

var _ interface {
	Backend
	Firewall
	Interrupter
	Launcher
} = (*DockerBackend)(nil)

// NewDockerBackend checks that a Docker engine answers and returns a
// backend for the containers o.Label selects.
func NewDockerBackend(ctx context.Context, o DockerOptions) (*DockerBackend, error) {
	if o.Label == "" {
		return nil, errors.New("awslocal: DockerBackend needs a label selecting its containers")
	}
	if o.Docker == "" {
		o.Docker = "docker"
	}
	if o.DefaultZone == "" {
		o.DefaultZone = "us-east-1a"
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	b := &DockerBackend{o: o, network: o.Network, ranges: map[string]Network{}, seen: map[netip.Addr]bool{}, created: time.Now().UTC().Truncate(time.Second)}
	if _, err := b.docker(ctx, nil, "version", "--format", "{{.Server.Version}}"); err != nil {
		return nil, fmt.Errorf("awslocal: no Docker engine answers: %w", err)
	}
	return b, nil
}

// docker runs the docker CLI and returns its standard output.
func (b *DockerBackend) docker(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.o.Docker, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("docker %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// container is what DockerBackend reads from docker inspect.
type container struct {
	ID      string    `json:"Id"`
	Name    string    `json:"Name"`
	Created time.Time `json:"Created"`
	Image   string    `json:"Image"`
	State   struct {
		Running   bool      `json:"Running"`
		Paused    bool      `json:"Paused"`
		StartedAt time.Time `json:"StartedAt"`
	} `json:"State"`
	Config struct {
		Image  string            `json:"Image"`
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	Mounts          []dockerMount `json:"Mounts"`
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress         string `json:"IPAddress"`
			GlobalIPv6Address string `json:"GlobalIPv6Address"`
		} `json:"Networks"`
	} `json:"NetworkSettings"`
}

type dockerMount struct {
	Type        string `json:"Type"`
	Name        string `json:"Name"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	RW          bool   `json:"RW"`
}

func (c container) name() string { return strings.TrimPrefix(c.Name, "/") }

// dockerInstanceID is the instance id of a container.
func dockerInstanceID(containerID string) string { return "i-" + containerID[:17] }

// containers inspects every container the label selects.
func (b *DockerBackend) containers(ctx context.Context) ([]container, error) {
	out, err := b.docker(ctx, nil, "ps", "-a", "--no-trunc", "--filter", "label="+b.o.Label, "--format", "{{.ID}}")
	if err != nil {
		return nil, err
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return nil, nil
	}
	out, err = b.docker(ctx, nil, append([]string{"inspect", "--type", "container"}, ids...)...)
	if err != nil {
		// A container removed between the two calls: list again once.
		if out, err = b.docker(ctx, nil, "ps", "-a", "--no-trunc", "--filter", "label="+b.o.Label, "--format", "{{.ID}}"); err != nil {
			return nil, err
		}
		if ids = strings.Fields(string(out)); len(ids) == 0 {
			return nil, nil
		}
		if out, err = b.docker(ctx, nil, append([]string{"inspect", "--type", "container"}, ids...)...); err != nil {
			return nil, err
		}
	}
	var cs []container
	if err := json.Unmarshal(out, &cs); err != nil {
		return nil, fmt.Errorf("read docker inspect: %w", err)
	}
	return cs, nil
}

// networkOf picks the backend's network, learning it from the first
// container when not configured.
func (b *DockerBackend) networkOf(cs []container) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.network == "" {
		for _, c := range cs {
			if nets := slices.Sorted(maps.Keys(c.NetworkSettings.Networks)); len(nets) > 0 {
				b.network = nets[0]
				break
			}
		}
	}
	return b.network
}

// Network implements Backend: the Docker network's ranges, and the zones
// named in the options.
func (b *DockerBackend) Network(ctx context.Context) (Network, error) {
	net := b.networkOf(nil)
	if net == "" {
		cs, err := b.containers(ctx)
		if err != nil {
			return Network{}, err
		}
		net = b.networkOf(cs)
	}
	n := Network{Zones: b.zones()}
	if net == "" {
		return n, nil
	}
	b.mu.Lock()
	cached, ok := b.ranges[net]
	b.mu.Unlock()
	if ok {
		n.CIDR, n.IPv6CIDR = cached.CIDR, cached.IPv6CIDR
		return n, nil
	}
	out, err := b.docker(ctx, nil, "network", "inspect", net, "--format", "{{json .IPAM.Config}}")
	if err != nil {
		return n, err
	}
	var cfg []struct{ Subnet string }
	if err := json.Unmarshal(out, &cfg); err != nil {
		return n, fmt.Errorf("read network %s: %w", net, err)
	}
	for _, c := range cfg {
		p, err := netip.ParsePrefix(c.Subnet)
		switch {
		case err != nil:
		case p.Addr().Is4() && n.CIDR == "":
			n.CIDR = p.String()
		case p.Addr().Is6() && n.IPv6CIDR == "":
			n.IPv6CIDR = p.String()
		}
	}
	// A network's ranges are fixed when it is made.
	b.mu.Lock()
	b.ranges[net] = n
	b.mu.Unlock()
	return n, nil
}

func (b *DockerBackend) zones() []string {
	set := map[string]bool{b.o.DefaultZone: true}
	for _, z := range b.o.Zones {
		set[z] = true
	}
	return slices.Sorted(maps.Keys(set))
}

var anonymousVolume = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Instances implements Backend.
func (b *DockerBackend) Instances(ctx context.Context) ([]Instance, error) {
	cs, err := b.containers(ctx)
	if err != nil {
		return nil, err
	}
	net := b.networkOf(cs)
	out := make([]Instance, 0, len(cs))
	for _, c := range cs {
		out = append(out, b.instance(c, net))
	}
	slices.SortFunc(out, func(x, y Instance) int { return cmpString(x.ID, y.ID) })
	return out, nil
}

func (b *DockerBackend) instance(c container, net string) Instance {
	name := c.name()
	in := Instance{
		ID:           dockerInstanceID(c.ID),
		Name:         name,
		Zone:         b.o.DefaultZone,
		Prefixes:     slices.Clone(b.o.Prefixes[name]),
		Tags:         map[string]string{"Name": name},
		ImageID:      amiID(c.Image),
		ImageName:    c.Config.Image,
		InstanceType: "t3.medium",
		LaunchTime:   c.Created.UTC().Truncate(time.Millisecond),
		Running:      c.State.Running,
		Hung:         c.State.Paused,
	}
	if in.Running {
		in.BootTime = c.State.StartedAt
	}
	if ep, ok := c.NetworkSettings.Networks[net]; ok {
		in.PrivateIP, in.IPv6 = ep.IPAddress, ep.GlobalIPv6Address
		b.mu.Lock()
		for _, a := range []string{in.PrivateIP, in.IPv6} {
			if ip, err := netip.ParseAddr(a); err == nil {
				b.seen[ip] = true
			}
		}
		b.mu.Unlock()
	}
	// What a container was launched with (its labels) says more than the
	// options, which describe the containers there at the start.
	labels := c.Config.Labels
	if z := b.o.Zones[name]; z != "" {
		in.Zone = z
	}
	if z := labels[labelZone]; z != "" {
		in.Zone = z
	}
	if t := labels[labelType]; t != "" {
		in.InstanceType = t
	}
	maps.Copy(in.Tags, b.o.Tags[name])
	for _, t := range b.o.LaunchTemplates {
		if slices.Contains(t.Instances, name) {
			lt := b.template(t)
			in.Tags["aws:ec2launchtemplate:id"] = lt.ID
			in.Tags["aws:ec2launchtemplate:version"] = strconv.FormatInt(lt.Version, 10)
		}
	}
	for k, v := range labels {
		if tag, ok := strings.CutPrefix(k, labelTagPrefix); ok {
			in.Tags[tag] = v
		}
	}
	// The root volume is the container's own layer, gone with it; its
	// writable mounts are further volumes, kept (DeleteOnTermination
	// false) unless Docker made them for the container alone.
	in.Volumes = []Volume{{ID: shortID("vol", c.ID, "/"), Device: "/dev/xvda", SizeGiB: 8, DeleteOnTermination: true, Source: "container layer"}}
	mounts := slices.Clone(c.Mounts)
	slices.SortFunc(mounts, func(x, y dockerMount) int { return cmpString(x.Destination, y.Destination) })
	letter := 'f'
	for _, m := range mounts {
		if !m.RW || (m.Type != "bind" && m.Type != "volume") || letter > 'p' {
			continue
		}
		in.Volumes = append(in.Volumes, Volume{
			ID:                  shortID("vol", c.ID, m.Destination),
			Device:              "/dev/sd" + string(letter),
			SizeGiB:             8,
			DeleteOnTermination: m.Type == "volume" && anonymousVolume.MatchString(m.Name),
			Source:              m.Source + ":" + m.Destination,
		})
		letter++
	}
	return in
}

// amiID derives an AMI id from a Docker image id.
func amiID(image string) string {
	h := strings.TrimPrefix(image, "sha256:")
	if len(h) < 17 {
		return shortID("ami", image)
	}
	return "ami-" + h[:17]
}

// find returns the container behind an instance id.
func (b *DockerBackend) find(ctx context.Context, id string) (container, error) {
	cs, err := b.containers(ctx)
	if err != nil {
		return container{}, err
	}
	for _, c := range cs {
		if dockerInstanceID(c.ID) == id {
			return c, nil
		}
	}
	return container{}, fmt.Errorf("no container selected by %s is instance %s", b.o.Label, id)
}

func (b *DockerBackend) timeout() string {
	return strconv.Itoa(int((b.o.StopTimeout + time.Second - 1) / time.Second))
}

// Start implements Backend: docker start.
func (b *DockerBackend) Start(ctx context.Context, id string) error {
	c, err := b.find(ctx, id)
	if err != nil {
		return err
	}
	if c.State.Running {
		return nil
	}
	_, err = b.docker(ctx, nil, "start", c.ID)
	return err
}

// Stop implements Backend: docker stop, or with force docker kill (a power
// cut, which also ends a paused container).
func (b *DockerBackend) Stop(ctx context.Context, id string, force bool) error {
	c, err := b.find(ctx, id)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return nil
	}
	if force || c.State.Paused {
		_, err = b.docker(ctx, nil, "kill", "--signal", "KILL", c.ID)
	} else {
		_, err = b.docker(ctx, nil, "stop", "-t", b.timeout(), c.ID)
	}
	return err
}

// Interrupt implements Interrupter: docker kill --signal KILL, the way a
// kernel panic ends everything in the machine at once. Unlike Stop, this
// is not EC2 stopping the instance: the server keeps it running, with a
// failed status check, until something reboots it.
func (b *DockerBackend) Interrupt(ctx context.Context, id string) error {
	c, err := b.find(ctx, id)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return fmt.Errorf("container %s is not running", c.name())
	}
	_, err = b.docker(ctx, nil, "kill", "--signal", "KILL", c.ID)
	return err
}

// Reboot implements Backend: docker restart, which starts a stopped
// container too; a paused (hung) one is thawed first, so it gets the same
// chance of a clean shutdown as EC2 gives before a hard reset.
func (b *DockerBackend) Reboot(ctx context.Context, id string) error {
	c, err := b.find(ctx, id)
	if err != nil {
		return err
	}
	if c.State.Paused {
		if _, err := b.docker(ctx, nil, "unpause", c.ID); err != nil {
			return err
		}
	}
	_, err = b.docker(ctx, nil, "restart", "-t", b.timeout(), c.ID)
	return err
}

// Exec implements Backend: docker exec <container> sh -c <script>.
func (b *DockerBackend) Exec(ctx context.Context, id, script string) (ExecResult, error) {
	c, err := b.find(ctx, id)
	if err != nil {
		return ExecResult{}, err
	}
	if !c.State.Running || c.State.Paused {
		return ExecResult{}, fmt.Errorf("container %s is not running", c.name())
	}
	cmd := exec.CommandContext(ctx, b.o.Docker, "exec", c.ID, "sh", "-c", script)
	cmd.WaitDelay = 5 * time.Second
	return runScript(ctx, cmd)
}

// LaunchTemplates implements Launcher.
func (b *DockerBackend) LaunchTemplates(context.Context) ([]LaunchTemplate, error) {
	var out []LaunchTemplate
	for _, t := range b.o.LaunchTemplates {
		out = append(out, b.template(t))
	}
	return out, nil
}

func (b *DockerBackend) template(t DockerLaunchTemplate) LaunchTemplate {
	return LaunchTemplate{
		ID: shortID("lt", "docker", t.Name), Name: t.Name, Version: 1, CreateTime: b.created,
		ImageID: t.Image, InstanceType: "t3.medium", Tags: map[string]string{"Name": t.Name},
	}
}

var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Launch implements Launcher: docker run of the template's image, labelled
// so the backend finds it, on the backend's network. The zone and tags go
// on the container as labels (awslocal.zone, awslocal.tag.<key>).
func (b *DockerBackend) Launch(ctx context.Context, spec LaunchSpec) (Instance, error) {
	if spec.Template == nil {
		return Instance{}, errors.New("the Docker backend launches from launch templates only")
	}
	var tmpl *DockerLaunchTemplate
	for i := range b.o.LaunchTemplates {
		if b.template(b.o.LaunchTemplates[i]).ID == spec.Template.ID {
			tmpl = &b.o.LaunchTemplates[i]
		}
	}
	if tmpl == nil {
		return Instance{}, fmt.Errorf("no launch template %s", spec.Template.ID)
	}
	net := b.networkOf(nil)
	if net == "" {
		cs, err := b.containers(ctx)
		if err != nil {
			return Instance{}, err
		}
		if net = b.networkOf(cs); net == "" {
			return Instance{}, errors.New("no Docker network known to launch into")
		}
	}
	b.mu.Lock()
	b.launched++
	name := fmt.Sprintf("%s-%d-%d", tmpl.Name, time.Now().Unix(), b.launched)
	b.mu.Unlock()
	// EC2 names need not be unique; container names must, and the
	// instance being replaced may still be there.
	if n := spec.Tags["Name"]; containerName.MatchString(n) {
		if _, err := b.docker(ctx, nil, "container", "inspect", "--format", "{{.Id}}", n); err != nil {
			name = n
		}
	}
	key, value, _ := strings.Cut(b.o.Label, "=")
	args := []string{"run", "-d", "--name", name, "--hostname", name, "--label", key + "=" + value,
		"--label", labelZone + "=" + spec.Zone, "--network", net}
	if spec.InstanceType != "" {
		args = append(args, "--label", labelType+"="+spec.InstanceType)
	}
	tags := maps.Clone(tmpl.InstanceTags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, spec.Tags)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		args = append(args, "--label", labelTagPrefix+k+"="+tags[k])
	}
	ips, err := b.freshAddresses(ctx, net)
	if err != nil {
		return Instance{}, err
	}
	rest := append(append(slices.Clone(tmpl.RunArgs), tmpl.Image), tmpl.Command...)
	out, err := b.docker(ctx, nil, append(append(args, ips...), rest...)...)
	if err != nil && strings.Contains(err.Error(), "user configured subnets") {
		// Docker takes --ip only on a network made with --subnet (kind's
		// is); elsewhere it picks the address itself. The container was
		// created before the address was refused.
		if _, rmErr := b.docker(ctx, nil, "rm", "--force", name); rmErr != nil {
			return Instance{}, errors.Join(err, rmErr)
		}
		out, err = b.docker(ctx, nil, append(args, rest...)...)
	}
	if err != nil {
		return Instance{}, err
	}
	cid := strings.TrimSpace(string(out))
	c, err := b.find(ctx, dockerInstanceID(cid))
	if err != nil {
		return Instance{}, err
	}
	return b.instance(c, net), nil
}

// downReporter is a backend that can say why a machine EC2 thinks is
// running is not.
type downReporter interface {
	whyDown(ctx context.Context, id string) string
}

// whyDown implements downReporter: the container's state and its last log
// lines.
func (b *DockerBackend) whyDown(ctx context.Context, id string) string {
	c, err := b.find(ctx, id)
	if err != nil {
		return err.Error()
	}
	out, err := b.docker(ctx, nil, "inspect", "--format", "{{.State.Status}} exit {{.State.ExitCode}} at {{.State.FinishedAt}} {{.State.Error}}", c.ID)
	why := strings.TrimSpace(string(out))
	if err != nil {
		why = err.Error()
	}
	if logs, err := exec.CommandContext(ctx, b.o.Docker, "logs", "--tail", "15", c.ID).CombinedOutput(); err == nil {
		why += "; last lines: " + strings.Join(strings.Fields(strings.ReplaceAll(string(logs), "\n", " | ")), " ")
	}
	return why
}

// freshAddresses picks, in each of the network's ranges, the highest
// address no container on it holds and no machine of the backend ever had,
// as docker run flags (--ip, --ip6): a machine launched into another
// subnet has another address on EC2, and rules that name the old one (a
// network ACL's) must not catch the new one.
func (b *DockerBackend) freshAddresses(ctx context.Context, net string) ([]string, error) {
	out, err := b.docker(ctx, nil, "network", "inspect", net)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	seen := maps.Clone(b.seen)
	b.mu.Unlock()
	return dockernet.FreeAddressFlags(out, seen)
}
