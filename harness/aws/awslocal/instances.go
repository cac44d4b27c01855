package awslocal

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"
)

// EC2 instance state names and codes.
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
)

var stateCodes = map[string]int{
	statePending: 0, stateRunning: 16, stateShuttingDown: 32,
	stateTerminated: 48, stateStopping: 64, stateStopped: 80,
}

// Operations in flight on an instance.
const (
	opNone   = ""
	opStop   = "stop"
	opStart  = "start"
	opReboot = "reboot"
)

// instRecord is what EC2 knows of an instance beyond what the backend
// reports: what the API last asked of it (intent), the operation under way,
// and when it was last seen.
type instRecord struct {
	last       Instance
	terminated bool
	// intent is stateRunning or stateStopped: the state the EC2 API last
	// asked for. A machine that is down while its intent is running has
	// crashed, as far as EC2 can tell: it stays "running" and fails its
	// status check, which is what a status-check alarm reacts to.
	intent        string
	op            string
	opForce       bool
	marked        bool // SetImpaired
	impairedSince time.Time
	transition    time.Time // last change of intent, for StateTransitionReason
	stopReason    string
	fwApplied     string // fingerprint of the firewall rules last applied
	// tags are the ones CreateTags set; they win over the backend's own.
	tags map[string]string
	// userData is what RunInstances was given (base64), for
	// DescribeInstanceAttribute.
	userData string
}

// state is the instance's EC2 state name.
func (r *instRecord) state() string {
	switch {
	case r.terminated:
		return stateTerminated
	case r.op == opStop:
		return stateStopping
	case r.op == opStart:
		return statePending
	case r.intent == stateStopped && r.last.Running:
		return stateStopping
	case r.intent == stateStopped:
		return stateStopped
	default:
		return stateRunning
	}
}

// impaired reports whether the instance status check fails: the machine
// should run but is down, hung, or marked impaired.
func (r *instRecord) impaired() bool {
	return !r.last.Running || r.last.Hung || r.marked
}

// statusApplies reports whether status checks run at all: only for a
// running instance.
func (r *instRecord) statusApplies() bool { return r.state() == stateRunning }

// instView is a consistent copy of one instance for an API answer.
type instView struct {
	Instance
	State         string
	Impaired      bool
	StatusApplies bool
	ImpairedSince time.Time
	Transition    time.Time
	StopReason    string
	SubnetID      string
	VPCID         string
}

// refresh asks the backend for its machines, folds them into the records
// and returns every known instance, terminated ones included, by id.
func (s *Server) refresh(ctx context.Context) ([]instView, error) {
	list, err := s.o.Backend.Instances(ctx)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	net, err := s.o.Backend.Network(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe network: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, in := range list {
		seen[in.ID] = true
		rec := s.insts[in.ID]
		if rec == nil {
			// First sight: EC2 takes the machine's state as what was asked.
			rec = &instRecord{intent: stateRunning, transition: now}
			if !in.Running {
				rec.intent = stateStopped
			}
			s.insts[in.ID] = rec
		}
		rec.last = in
		rec.terminated = false
		s.subnetLocked(in.Zone, net)
	}
	for id, rec := range s.insts {
		if !seen[id] && !rec.terminated {
			rec.terminated, rec.last.Running, rec.transition = true, false, now
		}
	}
	for _, z := range net.Zones {
		s.subnetLocked(z, net)
	}
	out := make([]instView, 0, len(s.insts))
	for id, rec := range s.insts {
		if rec.statusApplies() && rec.impaired() {
			if rec.impairedSince.IsZero() {
				rec.impairedSince = now
			}
		} else {
			rec.impairedSince = time.Time{}
		}
		v := instView{
			Instance:      rec.last,
			State:         rec.state(),
			Impaired:      rec.impaired(),
			StatusApplies: rec.statusApplies(),
			ImpairedSince: rec.impairedSince,
			Transition:    rec.transition,
			StopReason:    rec.stopReason,
		}
		v.ID = id
		if len(rec.tags) > 0 {
			v.Tags = maps.Clone(rec.last.Tags)
			if v.Tags == nil {
				v.Tags = map[string]string{}
			}
			maps.Copy(v.Tags, rec.tags)
		}
		if sn := s.subnets[rec.last.Zone]; sn != nil {
			v.SubnetID, v.VPCID = sn.id, sn.vpcID
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SetImpaired marks an instance's status check failed (or clears the mark)
// whatever its machine does, as a hardware or kernel fault would on EC2.
func (s *Server) SetImpaired(ctx context.Context, id string, impaired bool) error {
	if _, err := s.refresh(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	if rec == nil || rec.terminated {
		return fmt.Errorf("no instance %s", id)
	}
	rec.marked = impaired
	return nil
}

// stateChange is one instance's answer to Start/Stop.
type stateChange struct {
	id, previous, current string
}

// errIncorrectState is EC2's IncorrectInstanceState.
type errIncorrectState struct{ id, state, verb string }

func (e *errIncorrectState) Error() string {
	return fmt.Sprintf("The instance '%s' is not in a state from which it can be %s.", e.id, e.verb)
}

// stopInstance asks the backend to stop the machine in the background and
// answers at once, as EC2 does: the instance is "stopping" until it is
// down. A forced stop of an instance already stopping cuts its power.
func (s *Server) stopInstance(id string, force bool, reason string) (stateChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	prev := rec.state()
	switch prev {
	case stateStopped:
		return stateChange{id, prev, prev}, nil
	case stateStopping:
		if !force || rec.opForce {
			return stateChange{id, prev, prev}, nil
		}
	case stateRunning:
	default:
		return stateChange{}, &errIncorrectState{id, prev, "stopped"}
	}
	rec.intent, rec.op, rec.opForce = stateStopped, opStop, force
	rec.transition, rec.stopReason = s.now(), reason
	s.goLocked(func(ctx context.Context) {
		err := s.o.Backend.Stop(ctx, id, force)
		s.mu.Lock()
		defer s.mu.Unlock()
		if rec.op == opStop {
			rec.op, rec.opForce = opNone, false
		}
		if err != nil {
			s.log.Error("stop instance", "instance", id, "force", force, "err", err)
			rec.intent = stateRunning
			return
		}
		rec.last.Running, rec.last.Hung = false, false
	})
	return stateChange{id, prev, stateStopping}, nil
}

// startInstance boots a stopped instance in the background; it is
// "pending" until the backend is done.
func (s *Server) startInstance(id string) (stateChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	prev := rec.state()
	switch prev {
	case stateRunning, statePending:
		return stateChange{id, prev, prev}, nil
	case stateStopped:
	default:
		return stateChange{}, &errIncorrectState{id, prev, "started"}
	}
	rec.intent, rec.op = stateRunning, opStart
	rec.transition, rec.stopReason = s.now(), ""
	s.goLocked(func(ctx context.Context) {
		err := s.o.Backend.Start(ctx, id)
		s.mu.Lock()
		if rec.op == opStart {
			rec.op = opNone
		}
		if err != nil {
			s.log.Error("start instance", "instance", id, "err", err)
			rec.intent = stateStopped
		} else {
			rec.last.Running = true
		}
		s.mu.Unlock()
		s.reconcileFirewall(ctx)
	})
	return stateChange{id, prev, statePending}, nil
}

// rebootInstance restarts the machine in the background. EC2 reboots only
// instances meant to run; a crashed or hung one comes back up.
func (s *Server) rebootInstance(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	if st := rec.state(); st != stateRunning {
		return &errIncorrectState{id, st, "rebooted"}
	}
	if rec.op == opReboot {
		return nil
	}
	rec.op = opReboot
	s.goLocked(func(ctx context.Context) {
		err := s.o.Backend.Reboot(ctx, id)
		s.mu.Lock()
		if rec.op == opReboot {
			rec.op = opNone
		}
		if err != nil {
			s.log.Error("reboot instance", "instance", id, "err", err)
		} else {
			rec.last.Running, rec.last.Hung = true, false
		}
		s.mu.Unlock()
		s.reconcileFirewall(ctx)
	})
	return nil
}

// recoverInstance is EC2's recover action: the instance moves to healthy
// hardware, keeping its id, addresses and volumes. Here that is a stop with
// power cut followed by a start.
func (s *Server) recoverInstance(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	if st := rec.state(); st != stateRunning {
		return &errIncorrectState{id, st, "recovered"}
	}
	rec.op = opStart // pending while it moves
	s.goLocked(func(ctx context.Context) {
		err := s.o.Backend.Stop(ctx, id, true)
		if err == nil {
			err = s.o.Backend.Start(ctx, id)
		}
		s.mu.Lock()
		if rec.op == opStart {
			rec.op = opNone
		}
		if err != nil {
			s.log.Error("recover instance", "instance", id, "err", err)
		} else {
			rec.last.Running, rec.last.Hung = true, false
		}
		s.mu.Unlock()
		s.reconcileFirewall(ctx)
	})
	return nil
}

// known reports whether the server knows instance id, and its state.
func (s *Server) known(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.insts[id]
	if rec == nil {
		return "", false
	}
	return rec.state(), true
}
