package awslocal

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// SendDiagnosticInterrupt is EC2's way to crash a guest on purpose: the
// hypervisor sends the instance a non-maskable interrupt, and a Linux guest
// configured for it (kernel.unknown_nmi_panic=1) panics. EC2 itself is not
// told anything: the instance stays "running", its system stops answering,
// and its instance status check fails until something reboots it. That is
// the fault a StatusCheckFailed_Instance alarm with the reboot action
// exists for, and which StopInstances cannot produce (a stopped instance
// has no status checks).

func (s *Server) ec2SendDiagnosticInterrupt(c *ec2Call) (ec2Answer, *ec2Err) {
	id := c.form.Get("InstanceId")
	if id == "" {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	picked, eerr := pickInstances(views, []string{id})
	if eerr != nil {
		return nil, eerr
	}
	if st := picked[0].State; st != stateRunning {
		return nil, ec2Errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is %s; a diagnostic interrupt can only be sent to a running instance.", id, st)
	}
	in, ok := s.o.Backend.(Interrupter)
	if !ok {
		return nil, ec2Errorf(http.StatusBadRequest, "UnsupportedOperation", "The instance '%s' does not support diagnostic interrupts: this awslocal backend cannot crash its machines.", id)
	}
	if c.dry {
		return nil, dryRun
	}
	if err := s.interruptInstance(c.ctx, in, id); err != nil {
		return nil, internalError(err)
	}
	return &returnXML{XMLName: xmlName("SendDiagnosticInterruptResponse"), Return: true}, nil
}

// interruptInstance crashes the instance's machine through the backend,
// before answering, so that the next DescribeInstanceStatus sees the
// failed check. The instance's EC2 state is left alone: to EC2 it is still
// meant to run. A machine that is already down (crashed before, or hung
// past answering) has nothing left to crash; the call then succeeds, as
// EC2's does for a guest that ignores the interrupt.
func (s *Server) interruptInstance(ctx context.Context, in Interrupter, id string) error {
	s.mu.Lock()
	rec := s.insts[id]
	down := rec == nil || !rec.last.Running
	s.mu.Unlock()
	if down {
		return nil
	}
	if err := in.Interrupt(ctx, id); err != nil {
		return fmt.Errorf("interrupt instance %s: %w", id, err)
	}
	s.mu.Lock()
	rec.last.Running, rec.last.Hung, rec.last.BootTime = false, false, time.Time{}
	s.mu.Unlock()
	s.log.Info("diagnostic interrupt: the instance's system crashed", "instance", id)
	return nil
}
