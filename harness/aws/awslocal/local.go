package awslocal

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// LocalBackend keeps pretend machines in the process, for tests of the
// APIs: starting, stopping and rebooting flip a flag, and scripts run with
// sh -c on this machine, in a folder of the machine's own. It is no model
// of a real machine; DockerBackend is.
type LocalBackend struct {
	dir string
	net Network

	mu        sync.Mutex
	insts     map[string]*localMachine
	templates []LaunchTemplate
	events    []Event
	acls      map[string]ACLRules
	launched  int
}

// LocalMachine describes a machine to add to a LocalBackend.
type LocalMachine struct {
	Name      string // required, unique; the instance id derives from it
	Zone      string
	PrivateIP string
	IPv6      string
	Prefixes  []string
	Tags      map[string]string
	Volumes   []Volume
	Stopped   bool
}

type localMachine struct {
	in Instance
}

// Event is one thing a backend was asked to do, for tests to observe.
type Event struct {
	Op    string // start, stop, reboot, interrupt, exec, launch, acl
	ID    string
	Force bool // a stop that cut the power
	At    time.Time
}

var _ interface {
	Backend
	Firewall
	Interrupter
	Launcher
} = (*LocalBackend)(nil)

// NewLocalBackend returns a backend with no machines on the given network;
// scripts run in subfolders of dir.
func NewLocalBackend(dir string, net Network) *LocalBackend {
	return &LocalBackend{dir: dir, net: net, insts: map[string]*localMachine{}, acls: map[string]ACLRules{}}
}

// LocalInstanceID is the id a LocalBackend gives the machine of that name.
func LocalInstanceID(name string) string { return shortID("i", "local", name) }

// Add adds a machine, running unless m.Stopped, and returns it.
func (b *LocalBackend) Add(m LocalMachine) Instance {
	now := time.Now().UTC().Truncate(time.Second)
	in := Instance{
		ID: LocalInstanceID(m.Name), Name: m.Name, Zone: m.Zone, PrivateIP: m.PrivateIP, IPv6: m.IPv6,
		Prefixes: slices.Clone(m.Prefixes), Tags: maps.Clone(m.Tags), ImageID: "ami-0123456789abcdef0",
		InstanceType: "t3.medium", LaunchTime: now, Running: !m.Stopped, Volumes: slices.Clone(m.Volumes),
	}
	if in.Running {
		in.BootTime = now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.insts[in.ID] = &localMachine{in: in}
	return in
}

// Crash takes a machine down without EC2's knowledge, as a kernel panic or
// a pulled plug would: EC2 still means it to run, so its status check fails.
func (b *LocalBackend) Crash(id string) error {
	return b.with(id, func(m *localMachine) error {
		m.in.Running, m.in.BootTime = false, time.Time{}
		return nil
	})
}

// Interrupt implements Interrupter: the machine goes down as Crash takes
// it down, and the request is recorded.
func (b *LocalBackend) Interrupt(_ context.Context, id string) error {
	return b.with(id, func(m *localMachine) error {
		b.record("interrupt", id, false)
		if !m.in.Running {
			return fmt.Errorf("machine %s is not running", id)
		}
		m.in.Running, m.in.Hung, m.in.BootTime = false, false, time.Time{}
		return nil
	})
}

// Hang freezes (or thaws) a machine: powered but unresponsive.
func (b *LocalBackend) Hang(id string, hung bool) error {
	return b.with(id, func(m *localMachine) error {
		m.in.Hung = hung
		return nil
	})
}

// Remove deletes a machine, as terminating it would.
func (b *LocalBackend) Remove(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.insts, id)
}

// AddLaunchTemplate makes a template RunInstances can name.
func (b *LocalBackend) AddLaunchTemplate(t LaunchTemplate) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.templates = append(b.templates, t)
}

// Events returns what the backend was asked to do so far.
func (b *LocalBackend) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// AppliedACL returns the network ACL rules last applied to a machine.
func (b *LocalBackend) AppliedACL(id string) ACLRules {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acls[id]
}

func (b *LocalBackend) with(id string, f func(*localMachine) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.insts[id]
	if m == nil {
		return fmt.Errorf("no machine %s", id)
	}
	return f(m)
}

func (b *LocalBackend) record(op, id string, force bool) {
	b.events = append(b.events, Event{Op: op, ID: id, Force: force, At: time.Now()})
}

// Network implements Backend.
func (b *LocalBackend) Network(context.Context) (Network, error) { return b.net, nil }

// Instances implements Backend.
func (b *LocalBackend) Instances(context.Context) ([]Instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Instance
	for _, m := range b.insts {
		in := m.in
		in.Tags, in.Prefixes, in.Volumes = maps.Clone(in.Tags), slices.Clone(in.Prefixes), slices.Clone(in.Volumes)
		out = append(out, in)
	}
	slices.SortFunc(out, func(x, y Instance) int { return cmpString(x.ID, y.ID) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Start implements Backend.
func (b *LocalBackend) Start(_ context.Context, id string) error {
	return b.with(id, func(m *localMachine) error {
		b.record("start", id, false)
		if !m.in.Running {
			m.in.Running, m.in.BootTime = true, time.Now().UTC()
		}
		return nil
	})
}

// Stop implements Backend.
func (b *LocalBackend) Stop(_ context.Context, id string, force bool) error {
	return b.with(id, func(m *localMachine) error {
		b.record("stop", id, force)
		m.in.Running, m.in.Hung, m.in.BootTime = false, false, time.Time{}
		return nil
	})
}

// Reboot implements Backend.
func (b *LocalBackend) Reboot(_ context.Context, id string) error {
	return b.with(id, func(m *localMachine) error {
		b.record("reboot", id, false)
		m.in.Running, m.in.Hung, m.in.BootTime = true, false, time.Now().UTC()
		return nil
	})
}

// Exec implements Backend: sh -c script in the machine's folder.
func (b *LocalBackend) Exec(ctx context.Context, id, script string) (ExecResult, error) {
	err := b.with(id, func(m *localMachine) error {
		b.record("exec", id, false)
		if !m.in.Running || m.in.Hung {
			return fmt.Errorf("machine %s is not running", id)
		}
		return nil
	})
	if err != nil {
		return ExecResult{}, err
	}
	dir := filepath.Join(b.dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ExecResult{}, err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	return runScript(ctx, cmd)
}

// ApplyNetworkACL implements Firewall by remembering the rules.
func (b *LocalBackend) ApplyNetworkACL(_ context.Context, id string, rules ACLRules) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("acl", id, false)
	if rules.Empty() {
		delete(b.acls, id)
	} else {
		b.acls[id] = rules
	}
	return nil
}

// LaunchTemplates implements Launcher.
func (b *LocalBackend) LaunchTemplates(context.Context) ([]LaunchTemplate, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.templates), nil
}

// Launch implements Launcher: a new running machine named after its Name
// tag, or launched-N.
func (b *LocalBackend) Launch(_ context.Context, spec LaunchSpec) (Instance, error) {
	b.mu.Lock()
	b.launched++
	name := spec.Tags["Name"]
	if name == "" || b.insts[LocalInstanceID(name)] != nil {
		name = fmt.Sprintf("launched-%d", b.launched)
	}
	ip := fmt.Sprintf("10.0.200.%d", b.launched%250+1)
	b.record("launch", LocalInstanceID(name), false)
	b.mu.Unlock()
	in := b.Add(LocalMachine{Name: name, Zone: spec.Zone, PrivateIP: ip, Tags: spec.Tags})
	return in, b.with(in.ID, func(m *localMachine) error {
		m.in.ImageID = spec.ImageID
		if spec.InstanceType != "" {
			m.in.InstanceType = spec.InstanceType
		}
		in = m.in
		return nil
	})
}
