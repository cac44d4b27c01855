package awslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Alarm states.
const (
	alarmOK           = "OK"
	alarmAlarm        = "ALARM"
	alarmInsufficient = "INSUFFICIENT_DATA"
)

type dimension struct{ name, value string }

// alarm is a metric alarm and its evaluation state.
type alarm struct {
	name, description string
	actionsEnabled    bool
	okActions         []string
	alarmActions      []string
	insufficientActs  []string
	metricName        string
	namespace         string
	statistic         string
	extended          string
	unit              string
	dimensions        []dimension
	period            int32
	evaluationPeriods int32
	datapointsToAlarm int32
	datapointsSet     bool
	threshold         float64
	thresholdSet      bool
	thresholdMetric   string
	comparison        string
	treatMissing      string
	metricMath        bool
	tags              map[string]string

	configUpdated     time.Time
	state             string
	stateReason       string
	stateReasonData   string
	stateUpdated      time.Time
	stateTransitioned time.Time
	points            []datapoint // newest last, at most evaluationPeriods

	cancel context.CancelFunc // stops the evaluator
}

type datapoint struct {
	at      time.Time
	value   float64
	missing bool
}

func (a *alarm) stop() {
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *alarm) instanceID() string {
	for _, d := range a.dimensions {
		if d.name == "InstanceId" {
			return d.value
		}
	}
	return ""
}

// evaluable reports whether the server can produce the alarm's metric: the
// EC2 status-check metrics of one instance, compared to a fixed threshold.
func (a *alarm) evaluable() bool {
	switch a.metricName {
	case "StatusCheckFailed_Instance", "StatusCheckFailed", "StatusCheckFailed_System":
	default:
		return false
	}
	return a.namespace == "AWS/EC2" && len(a.dimensions) == 1 && a.instanceID() != "" &&
		!a.metricMath && a.thresholdSet && a.period > 0 && compare(a.comparison, 0, 0) != nil
}

// compare applies a comparison operator; nil for the anomaly-band
// operators, which need a threshold metric.
func compare(op string, v, threshold float64) *bool {
	var b bool
	switch op {
	case "GreaterThanOrEqualToThreshold":
		b = v >= threshold
	case "GreaterThanThreshold":
		b = v > threshold
	case "LessThanThreshold":
		b = v < threshold
	case "LessThanOrEqualToThreshold":
		b = v <= threshold
	default:
		return nil
	}
	return &b
}

var comparisonWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// putAlarm stores a new or replaced alarm and starts evaluating it. A
// replaced alarm keeps its state but starts collecting datapoints afresh.
func (s *Server) putAlarm(a *alarm) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a.configUpdated = now
	if old := s.alarms[a.name]; old != nil {
		old.stop()
		a.state, a.stateReason, a.stateReasonData = old.state, old.stateReason, old.stateReasonData
		a.stateUpdated, a.stateTransitioned = old.stateUpdated, old.stateTransitioned
		s.recordLocked(a.name, historyConfiguration, now, fmt.Sprintf("Alarm %q updated", a.name), configChange{Version: "1.0", Type: "Update", Alarm: a.name})
	} else {
		a.state, a.stateReason = alarmInsufficient, "Unchecked: Initial alarm creation"
		a.stateUpdated, a.stateTransitioned = now, now
		s.recordLocked(a.name, historyConfiguration, now, fmt.Sprintf("Alarm %q created", a.name), configChange{Version: "1.0", Type: "Create", Alarm: a.name})
	}
	if !a.evaluable() {
		if a.state == alarmInsufficient {
			a.stateReason = "Unchecked: awslocal evaluates only the AWS/EC2 status-check metrics of one instance against a threshold"
		}
		s.alarms[a.name] = a
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	a.cancel = cancel
	s.alarms[a.name] = a
	interval := time.Duration(float64(a.period) * float64(time.Second) / s.o.TimeScale)
	s.goLocked(func(context.Context) { s.runAlarm(ctx, a, max(interval, time.Millisecond)) })
}

// runAlarm takes one datapoint per (scaled) period until the alarm is
// deleted, replaced, or the server closes.
func (s *Server) runAlarm(ctx context.Context, a *alarm, interval time.Duration) {
	t := s.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.evaluateAlarm(ctx, a)
		if hook := s.evaluated; hook != nil {
			hook(a.name)
		}
	}
}

// sample reads the alarm's metric now: 1 when the instance's status check
// fails, 0 when it passes. An instance that is not running publishes no
// status-check data, so its datapoint is missing, as on EC2.
func (s *Server) sample(ctx context.Context, a *alarm) (float64, bool) {
	views, err := s.refresh(ctx)
	if err != nil {
		s.log.Error("alarm: sample instance status", "alarm", a.name, "err", err)
		return 0, false
	}
	for _, v := range views {
		if v.ID != a.instanceID() {
			continue
		}
		if !v.StatusApplies {
			return 0, false
		}
		if a.metricName == "StatusCheckFailed_System" || !v.Impaired {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

// evaluateAlarm adds one datapoint, works out the alarm's state from the
// last EvaluationPeriods of them, and on a change of state runs the
// actions for the new one.
func (s *Server) evaluateAlarm(ctx context.Context, a *alarm) {
	value, ok := s.sample(ctx, a)
	if ctx.Err() != nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	if s.alarms[a.name] != a {
		s.mu.Unlock()
		return // deleted or replaced meanwhile
	}
	a.points = append(a.points, datapoint{at: now, value: value, missing: !ok})
	if len(a.points) > int(a.evaluationPeriods) {
		a.points = a.points[len(a.points)-int(a.evaluationPeriods):]
	}
	state, reason := a.judge()
	var actions []string
	// The state, its reason and StateUpdatedTimestamp change on a
	// transition only, as CloudWatch's do: an alarm that stays in ALARM
	// keeps the reason and time it entered ALARM with. Every transition
	// also goes into the alarm history.
	if state != "" && state != a.state {
		s.log.Info("alarm state change", "alarm", a.name, "from", a.state, "to", state, "reason", reason)
		change := stateChangeDoc{Version: "1.0",
			OldState: stateDoc{StateValue: a.state, StateReason: a.stateReason, StateReasonData: rawJSON(a.stateReasonData)}}
		a.state, a.stateReason, a.stateUpdated, a.stateTransitioned = state, reason, now, now
		a.stateReasonData = a.reasonData(now)
		change.NewState = stateDoc{StateValue: state, StateReason: reason, StateReasonData: rawJSON(a.stateReasonData)}
		s.recordLocked(a.name, historyState, now, fmt.Sprintf("Alarm updated from %s to %s", change.OldState.StateValue, state), change)
		if a.actionsEnabled {
			switch state {
			case alarmAlarm:
				actions = a.alarmActions
			case alarmOK:
				actions = a.okActions
			default:
				actions = a.insufficientActs
			}
		}
	}
	instance := a.instanceID()
	s.mu.Unlock()
	for _, arn := range actions {
		err := s.runAction(a.name, arn, instance)
		s.mu.Lock()
		s.recordActionLocked(a.name, arn, s.now(), err)
		s.mu.Unlock()
	}
}

// judge decides the state from the datapoints: ALARM when at least
// DatapointsToAlarm of the last EvaluationPeriods breach, OK when they do
// not, INSUFFICIENT_DATA when every one is missing. Missing datapoints
// (periods before the alarm existed count as missing) are treated as
// TreatMissingData says. An empty state means "keep the current one".
func (a *alarm) judge() (state, reason string) {
	n, m := int(a.evaluationPeriods), int(a.datapointsToAlarm)
	missing := n - len(a.points)
	var present []datapoint
	for _, p := range a.points {
		if p.missing {
			missing++
		} else {
			present = append(present, p)
		}
	}
	breaching := 0
	for _, p := range present {
		if *compare(a.comparison, p.value, a.threshold) {
			breaching++
		}
	}
	switch a.treatMissing {
	case "breaching":
		breaching += missing
	case "notBreaching":
	case "ignore":
		if len(present) == 0 {
			return "", ""
		}
	default:
		if len(present) == 0 {
			return alarmInsufficient, fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n)
		}
	}
	words := comparisonWords[a.comparison]
	values := a.describePoints(present)
	if breaching >= m {
		return alarmAlarm, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s the threshold (%s) (minimum %d datapoints for OK -> ALARM transition).",
			breaching, n, values, wasWere(breaching, words), fmtFloat(a.threshold), m)
	}
	return alarmOK, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s the threshold (%s) (minimum %d datapoints for ALARM -> OK transition).",
		n-breaching, n, values, wasWere(n-breaching, "not "+words), fmtFloat(a.threshold), m)
}

func wasWere(n int, words string) string {
	if n == 1 {
		return "was " + words
	}
	return "were " + words
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// describePoints lists datapoints newest first, as CloudWatch's reasons do.
func (a *alarm) describePoints(ps []datapoint) string {
	var parts []string
	for i := len(ps) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%s (%s)", fmtFloat(ps[i].value), ps[i].at.UTC().Format("02/01/06 15:04:05")))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// reasonData is the StateReasonData document. s.mu is held.
func (a *alarm) reasonData(now time.Time) string {
	type point struct {
		Timestamp   string  `json:"timestamp"`
		SampleCount float64 `json:"sampleCount"`
		Value       float64 `json:"value"`
	}
	doc := struct {
		Version             string    `json:"version"`
		QueryDate           string    `json:"queryDate"`
		StartDate           string    `json:"startDate,omitempty"`
		Statistic           string    `json:"statistic,omitempty"`
		Period              int32     `json:"period"`
		RecentDatapoints    []float64 `json:"recentDatapoints"`
		Threshold           float64   `json:"threshold"`
		EvaluatedDatapoints []point   `json:"evaluatedDatapoints"`
	}{Version: "1.0", QueryDate: now.UTC().Format("2006-01-02T15:04:05.000+0000"), Statistic: a.statistic, Period: a.period, Threshold: a.threshold,
		RecentDatapoints: []float64{}, EvaluatedDatapoints: []point{}}
	for i, p := range a.points {
		if i == 0 {
			doc.StartDate = p.at.UTC().Format("2006-01-02T15:04:05.000+0000")
		}
		if p.missing {
			continue
		}
		doc.RecentDatapoints = append(doc.RecentDatapoints, p.value)
	}
	for i := len(a.points) - 1; i >= 0; i-- {
		if p := a.points[i]; !p.missing {
			doc.EvaluatedDatapoints = append(doc.EvaluatedDatapoints, point{p.at.UTC().Format("2006-01-02T15:04:05.000+0000"), 1, p.value})
		}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// parseEC2Action reads an EC2 alarm action ARN, in either of its forms:
// arn:aws:automate:<region>:ec2:<action> and
// arn:aws:swf:<region>:<account>:action/actions/AWS_EC2.InstanceId.<Action>/1.0.
// ok is false for other ARNs (SNS topics and the like); action is empty
// for an EC2 action that does not exist.
func parseEC2Action(arn string) (action, region string, ok bool) {
	f := strings.Split(arn, ":")
	switch {
	case len(f) == 6 && f[0] == "arn" && f[2] == "automate" && f[4] == "ec2":
		action, region = f[5], f[3]
	case len(f) == 6 && f[0] == "arn" && f[2] == "swf" && strings.HasPrefix(f[5], "action/actions/AWS_EC2.InstanceId."):
		name, _, _ := strings.Cut(strings.TrimPrefix(f[5], "action/actions/AWS_EC2.InstanceId."), "/")
		action, region = strings.ToLower(name), f[3]
	default:
		return "", "", false
	}
	switch action {
	case "reboot", "recover", "stop", "terminate":
		return action, region, true
	}
	return "", region, true
}

// errActionSkipped is the outcome of an action awslocal has nothing to
// carry it out with (SNS topics and the like).
var errActionSkipped = errors.New("awslocal only runs EC2 actions")

// runAction carries out one alarm action. EC2 actions act through the same
// paths as the EC2 API; other ARNs have nothing to reach here.
func (s *Server) runAction(alarmName, arn, instance string) error {
	action, _, ok := parseEC2Action(arn)
	if !ok {
		s.log.Info("alarm action skipped: awslocal only runs EC2 actions", "alarm", alarmName, "action", arn)
		return errActionSkipped
	}
	if _, known := s.known(instance); !known {
		s.log.Error("alarm action: no such instance", "alarm", alarmName, "action", arn, "instance", instance)
		return fmt.Errorf("no instance %s", instance)
	}
	s.log.Info("alarm action", "alarm", alarmName, "action", arn, "instance", instance)
	var err error
	switch action {
	case "reboot":
		err = s.rebootInstance(instance)
	case "recover":
		err = s.recoverInstance(instance)
	case "stop":
		_, err = s.stopInstance(instance, false, fmt.Sprintf("User initiated (%s GMT)", s.now().Format("2006-01-02 15:04:05")))
	default:
		err = fmt.Errorf("the %s action is not supported by awslocal", action)
	}
	if err != nil {
		s.log.Error("alarm action failed", "alarm", alarmName, "action", arn, "instance", instance, "err", err)
	}
	return err
}
