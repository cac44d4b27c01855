package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
	"github.com/kdrill/kdrill/harness/clock"
	"github.com/kdrill/kdrill/harness/ledger"
	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/probe/kubeprobe"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Options configure one scenario's drill.
type Options struct {
	SLO *slo.Config // nil: the built-in defaults
	// DataPlaneRate is the workload probe rate, requests per second.
	DataPlaneRate float64
	// Debounce is how many consecutive results change a prober's state.
	Debounce int
	// Baseline is how long the cluster is probed healthy before the fault;
	// Tail how long after recovery.
	Baseline, Tail time.Duration
	// MitigationOff switches the scenario's mitigation off: the drill then
	// shows what happens without it, and must fail.
	MitigationOff bool
	Watchdog      WatchdogOptions
	// BackupInterval is how often etcd is snapshotted during the drills
	// that need backups; BackupDir is where (default: a temporary folder).
	BackupInterval time.Duration
	BackupDir      string
	// Logger gets progress lines; nil discards.
	Logger *slog.Logger
	// ForceStop makes vm-shutdown cut the machine's power rather than stop
	// it cleanly (faults.MachineStop.Force).
	ForceStop bool
	// PlatformAlarm says the target's platform has the seed's status-check
	// alarm (AWS): vm-shutdown then crashes the machine and the alarm
	// reboots it. Run and DryRun set it from the target; Plan reads it.
	PlatformAlarm bool
	// Progress, if set, gets the drill's status at each phase change and
	// about once a second in between. Calls come one at a time, from more
	// than one goroutine; each must return quickly.
	Progress func(Status)
	// BeforePhase, if set, is called before each phase but PhaseRecover
	// (which begins the instant the fault is in), with what the phase will
	// do and what to watch; it may wait for a person. An error stops the
	// drill: whatever is injected is reverted, and the result is an error.
	BeforePhase func(ctx context.Context, scenario string, phase Phase, next Narration) error
}

func (o Options) withDefaults() Options {
	if o.DataPlaneRate <= 0 {
		o.DataPlaneRate = probe.DefaultDataPlaneRate
	}
	if o.Debounce <= 0 {
		o.Debounce = 2
	}
	if o.Baseline <= 0 {
		o.Baseline = 3 * time.Second
	}
	if o.Tail <= 0 {
		o.Tail = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Watchdog = o.Watchdog.withDefaults()
	if o.BackupInterval <= 0 {
		o.BackupInterval = DefaultBackupInterval
	}
	return o
}

// Env is the cluster a drill runs against.
type Env struct {
	Target  harness.Target
	Ref     faults.Ref
	Journal *faults.Journal
}

// DefaultBackupInterval is how often the drill snapshots etcd.
const DefaultBackupInterval = time.Minute

// healthyTimeout bounds the wait for a healthy cluster before a fault and
// after a revert.
const healthyTimeout = 3 * time.Minute

// Run drills one scenario: probes the cluster healthy, injects the fault,
// waits for the mitigation to bring it back (or the RTO bound to pass),
// reverts the fault, verifies the acknowledged writes and judges the
// result against the SLOs. It always reverts what it injected. The error
// is for a fault that could not be reverted (a faults.RevertError): the
// cluster may be left broken.
func Run(ctx context.Context, env Env, id string, o Options) (results.Scenario, error) {
	o = o.withDefaults()
	sc, ok := scenarios[id]
	if !ok {
		return results.Errored(id, fmt.Errorf("unknown scenario %q", id)), nil
	}
	d := &run{env: env, id: id, sc: sc, o: o, log: o.Logger.With("scenario", id)}
	return d.run(ctx)
}

// run is one drill in progress.
type run struct {
	env    Env
	id     string
	sc     scenario
	o      Options
	log    *slog.Logger
	events *timeline.EventLog
	hist   probe.History
	client kubeClient
	write  *kubeprobe.WriteProber
	sched  *kubeprobe.SchedulingProber // only where scheduling is measured
	cp     string
	// cpNode is the control-plane node as it was before the fault.
	cpNode harness.Node
	// podCIDRs maps node names to their pod ranges, for the partition.
	podCIDRs map[string]string
	// controlPlaneBackup is the control plane's certificates and
	// configuration, for drills that re-provision it.
	controlPlaneBackup string
	// fenceErr is why the re-provisioning runbook could not leave a
	// serving control plane; its fence stays in the journal.
	fenceErr error
	// injectedAt is when the fault went in.
	injectedAt time.Time
	// backupDir holds the drill's etcd snapshots, unless the target keeps
	// them itself (remoteBackups).
	backupDir     string
	remoteBackups faults.EtcdBackups
	// alarm is the platform's status-check alarm, where it has one.
	alarm string
	// mitigation says how the mitigation acted, once it has; empty if it
	// did not before the deadline.
	mitigation string
	// step describes the drill, for BeforePhase; rep reports its status.
	step Step
	rep  *reporter
	// stopped is why the drill stopped early at a phase boundary.
	stopped error
}

// enter calls BeforePhase before phase p (unless the drill is already
// stopping) and reports p. It returns why the drill must stop, if it must.
func (d *run) enter(ctx context.Context, p Phase) error {
	if d.stopped == nil && d.o.BeforePhase != nil {
		if err := d.o.BeforePhase(ctx, d.id, p, narrate(d.step, p, d.o)); err != nil {
			d.stopped = fmt.Errorf("stopped before %s: %w", p, err)
		}
	}
	if d.stopped == nil && ctx.Err() != nil {
		d.stopped = fmt.Errorf("interrupted before %s: %w", p, ctx.Err())
	}
	d.rep.phase(p)
	return d.stopped
}

func (d *run) run(ctx context.Context) (results.Scenario, error) {
	bounds := d.o.SLO.For(d.id)
	d.events = timeline.NewEventLog(clock.Real(), d.log)

	nodes, err := d.env.Target.Nodes(ctx)
	if err != nil {
		return results.Errored(d.id, fmt.Errorf("list nodes: %w", err)), nil
	}
	cps := harness.ByRole(nodes, harness.RoleControlPlane)
	if len(cps) != 1 {
		return results.Errored(d.id, fmt.Errorf("want one control-plane node, found %d", len(cps))), nil
	}
	d.cp, d.cpNode = cps[0].Name, cps[0]
	if d.sc.needsWorkers && len(harness.ByRole(nodes, harness.RoleWorker)) == 0 {
		return results.Errored(d.id, fmt.Errorf("%s needs worker nodes; the cluster has none", d.id)), nil
	}

	probers, closeProbers, err := d.probers(ctx)
	if err != nil {
		return results.Errored(d.id, err), nil
	}
	defer closeProbers()
	_, d.o.PlatformAlarm = d.env.Target.(StatusAlarms)
	d.step, _ = Plan(d.id, d.cp, d.o)
	if err := d.enter(ctx, PhaseBaseline); err != nil {
		return results.Errored(d.id, fmt.Errorf("%w; nothing was injected", err)), nil
	}

	pctx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	runner := &probe.Runner{Logger: d.log}
	probesDone := make(chan error, 1)
	start := time.Now()
	d.rep = newReporter(d.o.Progress, clock.Real(), d.id, &d.hist, d.o.Debounce, rtoOf(bounds), proberNames(probers))
	stopTicking := d.rep.tick(ctx)
	defer stopTicking()
	defer d.rep.phase(PhaseDone)
	go func() { probesDone <- runner.Run(pctx, d.rep, probers...) }()
	d.rep.phase(PhaseBaseline)

	d.log.Info("waiting for a healthy cluster before the fault")
	if err := d.waitHealthy(ctx, start); err != nil {
		stopProbes()
		<-probesDone
		return results.Errored(d.id, fmt.Errorf("cluster not healthy before the fault: %w", err)), nil
	}
	sleep(ctx, d.o.Baseline)
	if err := d.enter(ctx, PhaseInject); err != nil {
		stopProbes()
		<-probesDone
		return results.Errored(d.id, fmt.Errorf("%w; nothing was injected", err)), nil
	}

	// Mitigations that act by themselves are in place before the fault,
	// as an alarm would be.
	mctx, stopMitigation := context.WithCancel(ctx)
	defer stopMitigation()
	if d.sc.watchdog && !d.o.MitigationOff {
		if a, ok := d.env.Target.(StatusAlarms); ok {
			if err := d.ensureAlarm(ctx, a); err != nil {
				stopProbes()
				<-probesDone
				return results.Errored(d.id, err), nil
			}
		} else if w, ok := d.newWatchdog(); ok {
			go w.run(mctx)
		}
	}
	if d.sc.backups {
		if err := d.startBackups(mctx); err != nil {
			stopProbes()
			<-probesDone
			return results.Errored(d.id, err), nil
		}
		// Strike between two backups, as a real loss would: the writes
		// acknowledged since the last one are what the RPO measures.
		sleep(ctx, d.o.BackupInterval/3)
	}
	before, err := d.sc.observe(ctx, d)
	if err != nil {
		stopProbes()
		<-probesDone
		return results.Errored(d.id, fmt.Errorf("observe before the fault: %w", err)), nil
	}

	fault := d.sc.fault(d)
	d.log.Info("injecting fault", "fault", fault.Name(), "node", d.cp)
	revert, err := faults.Inject(ctx, d.env.Journal, d.env.Ref, d.env.Target, fault, func(at time.Time) {
		e := d.events.RecordAt(at, timeline.FaultInjected, d.id, map[string]string{"node": d.cp, "fault": fault.Name(), "mitigation_off": fmt.Sprint(d.o.MitigationOff)})
		d.injectedAt = e.Time
	})
	if err != nil {
		stopProbes()
		<-probesDone
		var re *faults.RevertError
		if errors.As(err, &re) {
			return results.Errored(d.id, err), err
		}
		// Inject reverted what it applied; leave the cluster as healthy
		// as the next drill expects it.
		if herr := d.waitHealthyAfter(ctx); herr != nil {
			d.log.Warn("cluster not healthy after the failed injection was reverted", "err", herr)
		}
		return results.Errored(d.id, err), nil
	}
	reverted := false
	// The runbook may be in a part it must finish (re-provisioning): the
	// fault is reverted after it returns.
	var actDone chan struct{} // closed when the runbook returns; nil if none runs
	waitAct := func() {
		stopMitigation()
		if actDone == nil {
			return
		}
		select {
		case <-actDone:
		default:
			d.log.Info("waiting for the runbook to finish what it began")
			<-actDone
		}
	}
	doRevert := func() error {
		if reverted {
			return nil
		}
		reverted = true
		waitAct()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		err := errors.Join(d.fenceErr, revert(rctx))
		attrs := map[string]string{"node": d.cp}
		if err != nil {
			attrs["error"] = err.Error()
		}
		d.events.Record(timeline.FaultReverted, d.id, attrs)
		return err
	}
	// Whatever happens below (an error, a panic, ctx cancelled by Ctrl-C)
	// the fault is reverted.
	defer doRevert()
	d.rep.update(func(s *Status) { s.Injected, s.Phase = d.injectedAt, PhaseRecover })

	if d.sc.act != nil && !d.o.MitigationOff {
		actDone = make(chan struct{})
		go func() {
			defer close(actDone)
			d.act(mctx)
		}()
	}
	deadline := d.injectedAt.Add(bounds.MaxRTO.D() + 10*time.Second)
	d.log.Info("waiting for recovery", "deadline", time.Until(deadline).Round(time.Second))
	recovered := d.waitRecovered(ctx, before, deadline)
	if recovered && d.enter(ctx, PhaseTail) == nil {
		sleep(ctx, d.o.Tail)
	}
	waitAct()
	stopProbes()
	<-probesDone
	end := time.Now()

	_ = d.enter(ctx, PhaseRevert) // stopped or not, the fault is reverted
	revertErr := doRevert()
	if revertErr != nil {
		return results.Errored(d.id, revertErr), revertErr
	}
	d.log.Info("fault reverted; waiting for the cluster to be healthy again")
	_ = d.enter(ctx, PhaseVerify)
	healthy := d.waitHealthyAfter(ctx)

	var writes *ledger.Report
	if healthy == nil {
		if r, err := d.write.Verify(ctx); err == nil {
			writes = &r
		} else {
			d.log.Warn("verify acknowledged writes", "err", err)
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = d.write.Cleanup(cctx)
		if d.sched != nil {
			// Pods of attempts cut short (by a partition, a fence) stay.
			_ = d.sched.Cleanup(cctx)
		}
		cancel()
	}

	attempts := d.hist.Attempts()
	tl := timeline.Build(start, end, attempts, d.events.Events(), timeline.Options{Debounce: d.o.Debounce})
	in := slo.Input{
		Scenario:  d.id,
		Bounds:    bounds,
		Timeline:  tl,
		Summaries: probe.Summarize(attempts),
		Writes:    writes,
	}
	if d.sc.backups {
		in.BackupInterval = d.o.BackupInterval
	}
	ev := slo.Evaluate(in)
	res := results.NewScenario(ev, in)
	var extra []slo.Check
	if d.mitigation != "" {
		extra = append(extra, passed("mitigation_acted", d.mitigation))
	} else {
		extra = append(extra, failed("mitigation_acted", d.sc.notMitigated+offNote(d)))
	}
	if d.sc.backups && writes != nil {
		extra = append(extra, d.nothingLostBeforeBackup(*writes))
	}
	more, err := d.sc.expect(ctx, d, before, tl)
	extra = append(extra, more...)
	if err != nil {
		extra = append(extra, failed("expectations", err.Error()))
	}
	if healthy != nil {
		extra = append(extra, failed("healthy_after_revert", healthy.Error()))
	}
	addChecks(&res, extra)
	if ctx.Err() != nil {
		// Cut short: the fault is reverted, but what was measured says
		// nothing about the mitigation.
		res.Verdict = slo.Error
		res.Reason = "interrupted before recovery could be judged; the fault was reverted"
	} else if d.stopped != nil {
		res.Verdict = slo.Error
		res.Reason = d.stopped.Error() + "; the fault was reverted"
	}
	return res, nil
}

// startBackups starts the backup schedule and waits for its first
// snapshot: a drill that destroys data must have something to restore.
func (d *run) startBackups(ctx context.Context) error {
	if remote, ok := d.env.Target.(faults.EtcdBackups); ok {
		rp, canReprovision := remote.(faults.ControlPlaneReprovisioner)
		if d.sc.reprovision && !canReprovision {
			return errOwnBackups(d.id)
		}
		d.remoteBackups = remote
		b := &backups{remote: remote, cp: d.cp, interval: d.o.BackupInterval, events: d.events}
		first := make(chan error, 1)
		go b.run(ctx, first)
		if err := <-first; err != nil {
			return fmt.Errorf("first etcd backup: %w", err)
		}
		if d.sc.reprovision {
			id, err := rp.BackupControlPlaneFiles(ctx, d.cp)
			if err != nil {
				return err
			}
			d.controlPlaneBackup = id
			d.events.Record(BackupTaken, "control-plane-backup", map[string]string{"path": id})
		}
		return nil
	}
	et, ok := d.env.Target.(harness.EtcdTarget)
	if !ok {
		return fmt.Errorf("%s needs etcd access for backups; this target gives none", d.id)
	}
	dir := d.o.BackupDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kdrill-backups-")
		if err != nil {
			return err
		}
		dir = tmp
	}
	d.backupDir = dir
	b := &backups{target: et, dir: dir, interval: d.o.BackupInterval, events: d.events}
	first := make(chan error, 1)
	go b.run(ctx, first)
	if err := <-first; err != nil {
		return fmt.Errorf("first etcd backup: %w", err)
	}
	if d.sc.reprovision {
		path, err := faults.BackupControlPlane(ctx, d.env.Target, d.cp, dir)
		if err != nil {
			return err
		}
		d.controlPlaneBackup = path
		d.events.Record(BackupTaken, "control-plane-backup", map[string]string{"path": path})
	}
	return nil
}

// errOwnBackups is why a drill that re-provisions the control plane cannot
// run on a target that keeps its own etcd backups but cannot re-provision.
func errOwnBackups(id string) error {
	return fmt.Errorf("%s re-provisions the control plane, which this target, keeping its own backups, cannot do", id)
}

// nothingLostBeforeBackup checks the restore kept every write acknowledged
// before the snapshot it restored.
func (d *run) nothingLostBeforeBackup(r ledger.Report) slo.Check {
	var taken time.Time
	for _, e := range d.events.Events() {
		// Each runbook that restores etcd names its snapshot.
		if e.Kind == timeline.MitigationStarted && e.Attrs["snapshot"] != "" {
			for _, b := range d.events.Events() {
				if b.Kind == BackupTaken && b.Attrs["path"] == e.Attrs["snapshot"] {
					// A write acknowledged while the snapshot was being
					// streamed may or may not be in it: only those
					// acknowledged before it started must survive.
					taken = b.Time
					if t, err := time.Parse(time.RFC3339Nano, b.Attrs["started"]); err == nil {
						taken = t
					}
				}
			}
		}
	}
	if taken.IsZero() {
		return failed("nothing_lost_before_backup", "no restore from a known backup happened")
	}
	if n := r.LostBefore(taken); n > 0 {
		return failed("nothing_lost_before_backup", fmt.Sprintf("%d writes acknowledged before the backup were lost", n))
	}
	return passed("nothing_lost_before_backup", fmt.Sprintf("every write acknowledged before the backup survived; %d acknowledged after it were lost", r.Lost))
}

// act runs the scenario's mitigation once it has detected the fault, and
// records it on the timeline.
func (d *run) act(ctx context.Context) {
	if err := d.sc.act(ctx, d); err != nil && ctx.Err() == nil {
		d.log.Warn("mitigation failed", "err", err)
	}
}

// probers builds the scenario's probers; close releases their clients.
func (d *run) probers(ctx context.Context) ([]probe.Prober, func(), error) {
	cfg, err := d.env.Target.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	c, err := kubeprobe.NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	d.client = kubeClient{c}
	if err := kubeprobe.EnsureNamespace(ctx, c, kubeprobe.DefaultNamespace); err != nil {
		return nil, nil, fmt.Errorf("prepare probe namespace: %w", err)
	}
	dp, err := probe.NewDataPlane(d.env.Target.WorkloadURL(), probe.DataPlaneOptions{Rate: d.o.DataPlaneRate})
	if err != nil {
		return nil, nil, err
	}
	// The API probers ask four times a second with a short timeout: the
	// RTO is measured from their outages, and a coarser grain shows up in
	// it (docs/drills.md: the apiserver-crash RTO agrees with the
	// runtime's timestamps to within a second).
	read, err := kubeprobe.NewRead(c, kubeprobe.ReadOptions{Interval: apiProbeInterval, Timeout: apiProbeTimeout})
	if err != nil {
		return nil, nil, err
	}
	d.write, err = kubeprobe.NewWrite(c, &ledger.Ledger{}, kubeprobe.WriteOptions{Run: runID(d.id), Interval: apiProbeInterval, Timeout: apiProbeTimeout})
	if err != nil {
		return nil, nil, err
	}
	kubelet := probe.Command(probe.Kubelet, probe.Schedule{Interval: 500 * time.Millisecond, Timeout: 2 * time.Second},
		d.env.Target.Exec, d.cp, "curl", "-sf", "--max-time", "1", "http://127.0.0.1:10248/healthz")
	ps := []probe.Prober{dp, read, d.write, kubelet}
	if slices.Contains(slo.RecoveryProbers(d.id), probe.Scheduling) {
		d.sched, err = kubeprobe.NewScheduling(c, kubeprobe.SchedulingOptions{Run: runID(d.id), Interval: 5 * time.Second, Timeout: 30 * time.Second})
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, d.sched)
	}
	closers := []func(){dp.Close}
	if et, ok := d.env.Target.(harness.EtcdTarget); ok {
		if ep, err := newFollowingEtcd(ctx, et); err == nil {
			ps = append(ps, ep)
			closers = append(closers, func() { ep.Close() })
		}
	}
	return ps, func() {
		for _, c := range closers {
			c()
		}
	}, nil
}

// The API probers' schedule during a drill.
const (
	apiProbeInterval = 250 * time.Millisecond
	apiProbeTimeout  = time.Second
)

// healthyProbers must all be passing before a fault goes in.
var healthyProbers = []string{probe.DataPlane, probe.APIRead, probe.APIWrite, probe.Kubelet}

// waitHealthy waits until each of healthyProbers has passed its last few
// attempts since since.
func (d *run) waitHealthy(ctx context.Context, since time.Time) error {
	deadline := time.Now().Add(healthyTimeout)
	for {
		bad := d.unhealthy(since, healthyProbers)
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("probers not passing after %s: %v", healthyTimeout, bad)
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// unhealthy lists the named probers whose last three attempts since since
// were not all successes.
func (d *run) unhealthy(since time.Time, names []string) []string {
	last := map[string][]bool{}
	for _, a := range d.hist.Attempts() {
		if a.Start.Before(since) {
			continue
		}
		last[a.Prober] = append(last[a.Prober], a.OK)
	}
	var bad []string
	for _, n := range names {
		r := last[n]
		if len(r) < 3 || slices.Contains(r[len(r)-3:], false) {
			bad = append(bad, n)
		}
	}
	return bad
}

// waitRecovered waits until the scenario's mitigation has acted and its
// recovery probers pass again, or the deadline passes.
func (d *run) waitRecovered(ctx context.Context, before observation, deadline time.Time) bool {
	recovery := slo.RecoveryProbers(d.id)
	for time.Now().Before(deadline) {
		if d.mitigation == "" {
			if how, ok := d.sc.mitigated(ctx, d, before); ok {
				d.mitigation = how
				d.log.Info("mitigation acted", "how", how)
				d.rep.update(func(s *Status) { s.Mitigation = how })
			}
		}
		if d.mitigation != "" && len(d.unhealthy(d.injectedAt, append(recovery, probe.DataPlane))) == 0 {
			d.log.Info("recovered", "after", time.Since(d.injectedAt).Round(100*time.Millisecond))
			d.rep.update(func(s *Status) { s.Recovered = time.Since(d.injectedAt) })
			return true
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return false
		}
	}
	d.log.Warn("no recovery before the deadline")
	return false
}

// waitHealthyAfter waits for the cluster to serve again after the revert,
// so the ledger can be read back and the next scenario starts clean.
func (d *run) waitHealthyAfter(ctx context.Context) error {
	deadline := time.Now().Add(healthyTimeout)
	for {
		err := d.client.ready(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API not ready %s after the revert: %w", healthyTimeout, err)
		}
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func runID(id string) string {
	return fmt.Sprintf("%s-%d", id, time.Now().Unix())
}

// addChecks appends the scenario's own expectations to the SLO checks. A
// failed one fails the scenario and leads its reason, since "what did not
// recover" says more than the number that missed its bound.
func addChecks(res *results.Scenario, checks []slo.Check) {
	var why []string
	for _, c := range checks {
		res.Checks = append(res.Checks, c)
		if c.Verdict == slo.Fail {
			why = append(why, c.Detail)
		}
	}
	if len(why) == 0 {
		return
	}
	if res.Verdict == slo.Fail && res.Reason != "" {
		why = append(why, res.Reason)
	}
	res.Verdict = slo.Fail
	res.Reason = strings.Join(why, "; ")
}

func passed(name, detail string) slo.Check {
	one := 1.0
	return slo.Check{Name: name, Unit: "expectation", Measured: &one, Bound: 1, Verdict: slo.Pass, Detail: detail}
}

func failed(name, detail string) slo.Check {
	zero := 0.0
	return slo.Check{Name: name, Unit: "expectation", Measured: &zero, Bound: 1, Verdict: slo.Fail, Detail: detail}
}
