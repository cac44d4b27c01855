package awslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SSM speaks AWS JSON 1.1: a POST to / naming the operation in
// X-Amz-Target (AmazonSSM.<Operation>), with the input's members as a JSON
// object and the output's as the answer.

const (
	runShellScript = "AWS-RunShellScript"
	shellPlugin    = "aws:runShellScript"
	// maxOutput is how much of a command's output SSM returns inline.
	maxOutput = 24000
)

// ssmErr is an SSM error answer.
type ssmErr struct {
	status int
	typ    string
	msg    string
}

func ssmErrorf(typ, format string, args ...any) *ssmErr {
	return &ssmErr{http.StatusBadRequest, typ, fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, reqID string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeSSMError(w http.ResponseWriter, reqID string, e *ssmErr) {
	writeJSON(w, reqID, e.status, map[string]string{"__type": e.typ, "Message": e.msg})
}

func ssmAuthError(a *authError) *ssmErr {
	switch a.kind {
	case authMissing:
		return &ssmErr{http.StatusBadRequest, "MissingAuthenticationTokenException", a.msg}
	case authUnknownKey:
		return &ssmErr{http.StatusBadRequest, "UnrecognizedClientException", a.msg}
	case authMalformed:
		return &ssmErr{http.StatusBadRequest, "IncompleteSignatureException", a.msg}
	default:
		return &ssmErr{http.StatusBadRequest, "InvalidSignatureException", a.msg}
	}
}

func (s *Server) serveSSM(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	body, hash, err := readRPCBody(r)
	if err != nil {
		writeSSMError(w, reqID, ssmErrorf("SerializationException", "%v", err))
		return
	}
	if aerr := s.verify(r, "ssm", hash); aerr != nil {
		writeSSMError(w, reqID, ssmAuthError(aerr))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	if !ok {
		writeSSMError(w, reqID, ssmErrorf("UnknownOperationException", "unknown target %q", r.Header.Get("X-Amz-Target")))
		return
	}
	var out any
	var serr *ssmErr
	switch op {
	case "SendCommand":
		var in sendCommandIn
		if serr = decodeJSON(body, &in); serr == nil {
			out, serr = s.ssmSendCommand(r.Context(), in)
		}
	case "GetCommandInvocation":
		var in getInvocationIn
		if serr = decodeJSON(body, &in); serr == nil {
			out, serr = s.ssmGetCommandInvocation(in)
		}
	case "ListCommandInvocations":
		var in listInvocationsIn
		if serr = decodeJSON(body, &in); serr == nil {
			out, serr = s.ssmListCommandInvocations(in)
		}
	case "CancelCommand":
		var in cancelCommandIn
		if serr = decodeJSON(body, &in); serr == nil {
			out, serr = s.ssmCancelCommand(in)
		}
	default:
		serr = ssmErrorf("UnknownOperationException", "The operation %s is not supported by awslocal.", op)
	}
	if serr != nil {
		writeSSMError(w, reqID, serr)
		return
	}
	writeJSON(w, reqID, http.StatusOK, out)
}

func decodeJSON(body []byte, v any) *ssmErr {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ssmErrorf("SerializationException", "%v", err)
	}
	return nil
}

// epoch is a JSON 1.1 timestamp: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1e3, 'f', 3, 64)), nil
}

type sendCommandIn struct {
	DocumentName   string
	InstanceIds    []string
	Targets        []json.RawMessage
	Parameters     map[string][]string
	Comment        string
	TimeoutSeconds *int
}

type commandOut struct {
	CommandId         string
	DocumentName      string
	DocumentVersion   string
	Comment           string
	ExpiresAfter      epoch
	Parameters        map[string][]string
	InstanceIds       []string
	Targets           []json.RawMessage
	RequestedDateTime epoch
	Status            string
	StatusDetails     string
	MaxConcurrency    string
	MaxErrors         string
	TargetCount       int
	CompletedCount    int
	ErrorCount        int
	TimeoutSeconds    int
}

// command is one SendCommand and its invocations, one per instance.
type command struct {
	id          string
	comment     string
	params      map[string][]string
	instanceIDs []string
	requested   time.Time
	timeout     time.Duration // for delivery, TimeoutSeconds
	invocations map[string]*invocation
}

// invocation is a command on one instance.
type invocation struct {
	status, details string
	stdout, stderr  string
	code            int
	start, end      time.Time
	// cancel ends the script's run, for CancelCommand.
	cancel context.CancelFunc
}

func (i *invocation) done() bool {
	switch i.status {
	case "Pending", "InProgress", "Delayed", "Cancelling":
		return false
	}
	return true
}

// status is the command's overall status from its invocations.
func (c *command) status() (status string, completed, errs int) {
	pending, inProgress, cancelling := 0, 0, 0
	failed, timedOut, cancelled := 0, 0, 0
	for _, inv := range c.invocations {
		switch inv.status {
		case "Pending":
			pending++
		case "InProgress", "Delayed":
			inProgress++
		case "Cancelling":
			cancelling++
		case "Failed":
			failed++
		case "TimedOut":
			timedOut++
		case "Cancelled":
			cancelled++
		}
		if inv.done() {
			completed++
		}
	}
	errs = failed + timedOut
	switch {
	case pending == len(c.invocations):
		return "Pending", completed, errs
	case pending+inProgress > 0:
		return "InProgress", completed, errs
	case cancelling > 0:
		return "Cancelling", completed, errs
	case failed > 0:
		return "Failed", completed, errs
	case timedOut > 0:
		return "TimedOut", completed, errs
	case cancelled > 0:
		return "Cancelled", completed, errs
	}
	return "Success", completed, errs
}

func (s *Server) commandOutLocked(c *command) commandOut {
	st, completed, errs := c.status()
	return commandOut{
		CommandId: c.id, DocumentName: runShellScript, DocumentVersion: "$DEFAULT", Comment: c.comment,
		ExpiresAfter: epoch(c.requested.Add(c.timeout)), Parameters: c.params, InstanceIds: c.instanceIDs,
		Targets: []json.RawMessage{}, RequestedDateTime: epoch(c.requested), Status: st, StatusDetails: st,
		MaxConcurrency: "50", MaxErrors: "0", TargetCount: len(c.instanceIDs), CompletedCount: completed,
		ErrorCount: errs, TimeoutSeconds: int(c.timeout / time.Second),
	}
}

// ssmSendCommand starts AWS-RunShellScript on every instance. Each
// invocation runs in the background through the backend; one whose
// instance is not up fails as undeliverable. (Real SSM keeps trying until
// the delivery timeout; a drill wants to know at once.)
func (s *Server) ssmSendCommand(ctx context.Context, in sendCommandIn) (any, *ssmErr) {
	if in.DocumentName != runShellScript {
		if in.DocumentName == "" {
			return nil, ssmErrorf("ValidationException", "1 validation error detected: Value null at 'documentName' failed to satisfy constraint: Member must not be null")
		}
		return nil, ssmErrorf("InvalidDocument", "Document %s does not exist in your account; awslocal knows only %s.", in.DocumentName, runShellScript)
	}
	if len(in.InstanceIds) == 0 {
		if len(in.Targets) > 0 {
			return nil, ssmErrorf("InvalidParameters", "awslocal runs commands on InstanceIds only, not Targets.")
		}
		return nil, ssmErrorf("ValidationException", "Either InstanceIds or Targets must be given.")
	}
	for k := range in.Parameters {
		if k != "commands" && k != "workingDirectory" && k != "executionTimeout" {
			return nil, ssmErrorf("InvalidParameters", "Parameter %q is not defined in document %s.", k, runShellScript)
		}
	}
	if len(in.Parameters["commands"]) == 0 {
		return nil, ssmErrorf("InvalidParameters", "Parameter \"commands\" is required by document %s.", runShellScript)
	}
	execTimeout := time.Hour
	if v := in.Parameters["executionTimeout"]; len(v) > 0 {
		secs, err := strconv.Atoi(v[0])
		if err != nil || secs < 1 || secs > 172800 {
			return nil, ssmErrorf("InvalidParameters", "Parameter executionTimeout must be a number of seconds from 1 to 172800.")
		}
		execTimeout = time.Duration(secs) * time.Second
	}
	timeout := time.Hour
	if in.TimeoutSeconds != nil {
		if *in.TimeoutSeconds < 30 || *in.TimeoutSeconds > 2592000 {
			return nil, ssmErrorf("ValidationException", "TimeoutSeconds must be between 30 and 2592000.")
		}
		timeout = time.Duration(*in.TimeoutSeconds) * time.Second
	}
	if _, err := s.refresh(ctx); err != nil {
		return nil, &ssmErr{http.StatusInternalServerError, "InternalServerError", err.Error()}
	}
	var bad []string
	for _, id := range in.InstanceIds {
		if st, ok := s.known(id); !ok || st == stateTerminated || st == stateShuttingDown {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return nil, ssmErrorf("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(bad, ", "), s.o.AccountID)
	}
	script := strings.Join(in.Parameters["commands"], "\n")
	if wd := in.Parameters["workingDirectory"]; len(wd) > 0 && wd[0] != "" {
		script = "cd " + shellQuote(wd[0]) + " || exit 1\n" + script
	}
	c := &command{
		id: newRequestID(), comment: in.Comment, params: in.Parameters,
		instanceIDs: uniq(in.InstanceIds), requested: s.now(), timeout: timeout,
		invocations: map[string]*invocation{},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range c.instanceIDs {
		inv := &invocation{status: "Pending", details: "Pending", code: -1}
		c.invocations[id] = inv
		s.goLocked(func(ctx context.Context) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			s.runInvocation(ctx, cancel, id, inv, script, execTimeout)
		})
	}
	s.commands[c.id] = c
	s.cmdOrder = append(s.cmdOrder, c.id)
	return map[string]commandOut{"Command": s.commandOutLocked(c)}, nil
}

// uniq drops repeated ids, keeping the first of each.
func uniq(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// runInvocation runs one invocation to its end; cancel ends ctx, for
// CancelCommand.
func (s *Server) runInvocation(ctx context.Context, cancel context.CancelFunc, id string, inv *invocation, script string, timeout time.Duration) {
	s.mu.Lock()
	if inv.done() {
		s.mu.Unlock()
		return // cancelled before it started
	}
	inv.cancel = cancel
	rec := s.insts[id]
	up := rec != nil && rec.state() == stateRunning && rec.last.Running && !rec.last.Hung
	now := s.now()
	if !up {
		inv.status, inv.details, inv.start, inv.end = "Failed", "Undeliverable", now, now
		inv.stderr = fmt.Sprintf("instance %s is not running, so the SSM agent could not be reached", id)
		// A machine EC2 thinks running that is down (crashed by a drill,
		// or fallen over by itself) says why, once, in the log.
		d, canTell := s.o.Backend.(downReporter)
		explain := canTell && rec != nil && rec.state() == stateRunning && !s.toldWhyDown[id]
		if explain {
			if s.toldWhyDown == nil {
				s.toldWhyDown = map[string]bool{}
			}
			s.toldWhyDown[id] = true
		}
		s.mu.Unlock()
		if explain {
			s.log.Warn("ssm: a running instance's machine is down", "instance", id, "why", d.whyDown(ctx, id))
		}
		return
	}
	inv.status, inv.details, inv.start = "InProgress", "InProgress", now
	s.mu.Unlock()

	runCtx, stop := context.WithTimeout(ctx, timeout)
	res, err := s.o.Backend.Exec(runCtx, id, script)
	stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	inv.end = s.now()
	inv.stdout, inv.stderr = truncate(string(res.Stdout)), truncate(string(res.Stderr))
	switch {
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		inv.status, inv.details, inv.code = "TimedOut", "ExecutionTimedOut", -1
	case ctx.Err() != nil: // CancelCommand, or the server closing
		inv.status, inv.details, inv.code = "Cancelled", "Cancelled", -1
	case err != nil:
		inv.status, inv.details, inv.code = "Failed", "Undeliverable", -1
		if inv.stderr == "" {
			inv.stderr = err.Error()
		}
	case res.ExitCode == 0:
		inv.status, inv.details, inv.code = "Success", "Success", 0
	default:
		inv.status, inv.details, inv.code = "Failed", "Failed", res.ExitCode
	}
}

func truncate(s string) string {
	if len(s) > maxOutput {
		return s[:maxOutput]
	}
	return s
}

type getInvocationIn struct {
	CommandId  string
	InstanceId string
	PluginName string
}

type cloudWatchOutput struct {
	CloudWatchLogGroupName  string
	CloudWatchOutputEnabled bool
}

type getInvocationOut struct {
	CommandId              string
	InstanceId             string
	Comment                string
	DocumentName           string
	DocumentVersion        string
	PluginName             string
	ResponseCode           int
	ExecutionStartDateTime string
	ExecutionElapsedTime   string
	ExecutionEndDateTime   string
	Status                 string
	StatusDetails          string
	StandardOutputContent  string
	StandardOutputUrl      string
	StandardErrorContent   string
	StandardErrorUrl       string
	CloudWatchOutputConfig cloudWatchOutput
}

// ssmTime is the string form SSM uses for execution times.
func ssmTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// invocationLocked finds an invocation. s.mu is held.
func (s *Server) invocationLocked(commandID, instanceID string) (*command, *invocation, *ssmErr) {
	if len(commandID) != 36 {
		return nil, nil, ssmErrorf("ValidationException", "1 validation error detected: Value '%s' at 'commandId' failed to satisfy constraint: Member must have length 36", commandID)
	}
	c := s.commands[commandID]
	if c == nil {
		return nil, nil, ssmErrorf("InvocationDoesNotExist", "")
	}
	inv := c.invocations[instanceID]
	if inv == nil {
		return nil, nil, ssmErrorf("InvocationDoesNotExist", "")
	}
	return c, inv, nil
}

func (s *Server) ssmGetCommandInvocation(in getInvocationIn) (any, *ssmErr) {
	if in.PluginName != "" && in.PluginName != shellPlugin {
		return nil, ssmErrorf("InvalidPluginName", "The plugin name %s is not valid for %s.", in.PluginName, runShellScript)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, inv, serr := s.invocationLocked(in.CommandId, in.InstanceId)
	if serr != nil {
		return nil, serr
	}
	out := getInvocationOut{
		CommandId: c.id, InstanceId: in.InstanceId, Comment: c.comment, DocumentName: runShellScript,
		DocumentVersion: "$DEFAULT", PluginName: shellPlugin, ResponseCode: inv.code,
		ExecutionStartDateTime: ssmTime(inv.start), ExecutionEndDateTime: ssmTime(inv.end),
		Status: inv.status, StatusDetails: inv.details,
		StandardOutputContent: inv.stdout, StandardErrorContent: inv.stderr,
	}
	if !inv.start.IsZero() {
		end := inv.end
		if end.IsZero() {
			end = s.now()
		}
		out.ExecutionElapsedTime = fmt.Sprintf("PT%.3fS", end.Sub(inv.start).Seconds())
	}
	return out, nil
}

type listInvocationsIn struct {
	CommandId  string
	InstanceId string
	Details    bool
	MaxResults int
	NextToken  string
}

type pluginOut struct {
	Name                   string
	Status                 string
	StatusDetails          string
	ResponseCode           int
	ResponseStartDateTime  *epoch `json:",omitempty"`
	ResponseFinishDateTime *epoch `json:",omitempty"`
	Output                 string
	StandardOutputUrl      string
	StandardErrorUrl       string
}

type invocationOut struct {
	CommandId              string
	InstanceId             string
	InstanceName           string
	Comment                string
	DocumentName           string
	DocumentVersion        string
	RequestedDateTime      epoch
	Status                 string
	StatusDetails          string
	TraceOutput            string
	StandardOutputUrl      string
	StandardErrorUrl       string
	CommandPlugins         []pluginOut
	CloudWatchOutputConfig cloudWatchOutput
}

func (s *Server) ssmListCommandInvocations(in listInvocationsIn) (any, *ssmErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.CommandId != "" {
		if _, _, serr := s.invocationLocked(in.CommandId, ""); serr != nil && serr.typ == "ValidationException" {
			return nil, serr
		}
	}
	out := []invocationOut{}
	for i := len(s.cmdOrder) - 1; i >= 0; i-- { // newest first
		c := s.commands[s.cmdOrder[i]]
		if in.CommandId != "" && c.id != in.CommandId {
			continue
		}
		for _, id := range c.instanceIDs {
			if in.InstanceId != "" && id != in.InstanceId {
				continue
			}
			inv := c.invocations[id]
			x := invocationOut{
				CommandId: c.id, InstanceId: id, Comment: c.comment, DocumentName: runShellScript, DocumentVersion: "$DEFAULT",
				RequestedDateTime: epoch(c.requested), Status: inv.status, StatusDetails: inv.details, CommandPlugins: []pluginOut{},
			}
			if rec := s.insts[id]; rec != nil {
				x.InstanceName = s.privateDNSName(rec.last.PrivateIP)
			}
			if in.Details {
				p := pluginOut{Name: shellPlugin, Status: inv.status, StatusDetails: inv.details, ResponseCode: inv.code, Output: pluginOutput(inv)}
				if !inv.start.IsZero() {
					st := epoch(inv.start)
					p.ResponseStartDateTime = &st
				}
				if !inv.end.IsZero() {
					e := epoch(inv.end)
					p.ResponseFinishDateTime = &e
				}
				x.CommandPlugins = append(x.CommandPlugins, p)
			}
			out = append(out, x)
		}
	}
	return map[string]any{"CommandInvocations": out}, nil
}

// pluginOutput is the plugin's combined output, as SSM shows it.
func pluginOutput(inv *invocation) string {
	if inv.stderr == "" {
		return inv.stdout
	}
	return truncate(inv.stdout + "\n----------ERROR-------\n" + inv.stderr)
}

type cancelCommandIn struct {
	CommandId   string
	InstanceIds []string
}

// ssmCancelCommand cancels a command's invocations on the given instances
// (all of them when none is given). One not started yet is Cancelled at
// once; a running one is Cancelling until its script has been stopped.
// Invocations already over are left as they are, as SSM does.
func (s *Server) ssmCancelCommand(in cancelCommandIn) (any, *ssmErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.CommandId) != 36 {
		return nil, ssmErrorf("ValidationException", "1 validation error detected: Value '%s' at 'commandId' failed to satisfy constraint: Member must have length 36", in.CommandId)
	}
	c := s.commands[in.CommandId]
	if c == nil {
		return nil, ssmErrorf("InvalidCommandId", "")
	}
	ids := in.InstanceIds
	if len(ids) == 0 {
		ids = c.instanceIDs
	}
	for _, id := range ids {
		if c.invocations[id] == nil {
			return nil, ssmErrorf("InvalidInstanceId", "Instance %s is not a target of command %s.", id, c.id)
		}
	}
	now := s.now()
	for _, id := range ids {
		inv := c.invocations[id]
		switch {
		case inv.done():
		case inv.status == "Pending":
			inv.status, inv.details, inv.start, inv.end = "Cancelled", "Cancelled", now, now
		default:
			inv.status, inv.details = "Cancelling", "Cancelling"
			if inv.cancel != nil {
				inv.cancel()
			}
		}
	}
	return map[string]any{}, nil
}
