package awslocal

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch speaks Smithy RPC v2 CBOR: a POST to
// /service/GraniteServiceVersion20100801/operation/<Operation> with a CBOR
// map of the input's members, answered with a CBOR map of the output's.
// The service is marked query-compatible, so errors also carry their old
// query-protocol code in X-Amzn-Query-Error.
const cwPathPrefix = "/service/GraniteServiceVersion20100801/operation/"

// cwErr is a CloudWatch error answer.
type cwErr struct {
	status    int
	typ       string // the Smithy error shape's name
	queryCode string
	msg       string
}

func cwErrorf(status int, typ, queryCode, format string, args ...any) *cwErr {
	return &cwErr{status, typ, queryCode, fmt.Sprintf(format, args...)}
}

func cwInvalid(format string, args ...any) *cwErr {
	return cwErrorf(http.StatusBadRequest, "InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

func cwMissing(member string) *cwErr {
	return cwErrorf(http.StatusBadRequest, "MissingRequiredParameterException", "MissingParameter", "The parameter %s is required.", member)
}

func writeCBORError(w http.ResponseWriter, reqID string, e *cwErr) {
	typ := e.typ
	if !strings.Contains(typ, "#") {
		typ = "com.amazonaws.cloudwatch#" + typ
	}
	w.Header().Set("X-Amzn-Query-Error", e.queryCode+";Sender")
	writeCBOR(w, reqID, e.status, cbor.Map{"__type": cbor.String(typ), "message": cbor.String(e.msg)})
}

func writeCBOR(w http.ResponseWriter, reqID string, status int, v cbor.Map) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(v))
}

func cborAuthError(a *authError) *cwErr {
	switch a.kind {
	case authMissing:
		return &cwErr{http.StatusForbidden, "com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken", a.msg}
	case authUnknownKey:
		return &cwErr{http.StatusForbidden, "com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId", a.msg}
	case authExpired:
		return &cwErr{http.StatusBadRequest, "com.amazon.coral.service#InvalidSignatureException", "RequestExpired", a.msg}
	case authMalformed:
		return &cwErr{http.StatusBadRequest, "com.amazon.coral.service#IncompleteSignatureException", "IncompleteSignature", a.msg}
	default:
		return &cwErr{http.StatusForbidden, "com.amazon.coral.service#InvalidSignatureException", "SignatureDoesNotMatch", a.msg}
	}
}

func (s *Server) serveCloudWatch(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	body, hash, err := readRPCBody(r)
	if err != nil {
		writeCBORError(w, reqID, cwErrorf(http.StatusBadRequest, "com.amazon.coral.service#SerializationException", "MalformedInput", "%v", err))
		return
	}
	if aerr := s.verify(r, "monitoring", hash); aerr != nil {
		writeCBORError(w, reqID, cborAuthError(aerr))
		return
	}
	op := strings.TrimPrefix(r.URL.Path, cwPathPrefix)
	if !strings.HasPrefix(r.URL.Path, cwPathPrefix) || r.Method != http.MethodPost {
		writeCBORError(w, reqID, cwErrorf(http.StatusNotFound, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", "%s %s is not an operation of this service", r.Method, r.URL.Path))
		return
	}
	in := cbor.Map{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		m, ok := v.(cbor.Map)
		if err != nil || !ok {
			writeCBORError(w, reqID, cwErrorf(http.StatusBadRequest, "com.amazon.coral.service#SerializationException", "MalformedInput", "the body is not a CBOR map"))
			return
		}
		in = m
	}
	var out cbor.Map
	var cerr *cwErr
	switch op {
	case "PutMetricAlarm":
		out, cerr = s.cwPutMetricAlarm(r.Context(), in)
	case "DescribeAlarms":
		out, cerr = s.cwDescribeAlarms(in)
	case "DescribeAlarmsForMetric":
		out, cerr = s.cwDescribeAlarmsForMetric(in)
	case "DescribeAlarmHistory":
		out, cerr = s.cwDescribeAlarmHistory(in)
	case "DeleteAlarms":
		out, cerr = s.cwDeleteAlarms(in)
	default:
		cerr = cwErrorf(http.StatusBadRequest, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", "The action %s is not valid for this web service.", op)
	}
	if cerr != nil {
		writeCBORError(w, reqID, cerr)
		return
	}
	writeCBOR(w, reqID, http.StatusOK, out)
}

// CBOR input readers: a missing member or a null reads as absent.

func cget(m cbor.Map, k string) (cbor.Value, bool) {
	v, ok := m[k]
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case *cbor.Nil, *cbor.Undefined:
		return nil, false
	}
	return v, true
}

func cstr(m cbor.Map, k string) string {
	v, _ := cget(m, k)
	s, _ := v.(cbor.String)
	return string(s)
}

func cint(m cbor.Map, k string) (int64, bool, error) {
	v, ok := cget(m, k)
	if !ok {
		return 0, false, nil
	}
	n, err := cbor.AsInt64(v)
	return n, true, err
}

func cfloat(m cbor.Map, k string) (float64, bool, error) {
	v, ok := cget(m, k)
	if !ok {
		return 0, false, nil
	}
	f, err := cbor.AsFloat64(v)
	return f, true, err
}

func cbool(m cbor.Map, k string, def bool) bool {
	v, ok := cget(m, k)
	if !ok {
		return def
	}
	b, ok := v.(cbor.Bool)
	if !ok {
		return def
	}
	return bool(b)
}

func cstrs(m cbor.Map, k string) []string {
	v, _ := cget(m, k)
	l, _ := v.(cbor.List)
	var out []string
	for _, e := range l {
		if s, ok := e.(cbor.String); ok {
			out = append(out, string(s))
		}
	}
	return out
}

func cmaps(m cbor.Map, k string) []cbor.Map {
	v, _ := cget(m, k)
	l, _ := v.(cbor.List)
	var out []cbor.Map
	for _, e := range l {
		if mm, ok := e.(cbor.Map); ok {
			out = append(out, mm)
		}
	}
	return out
}

// CBOR output builders.

func ctime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func clist(ss []string) cbor.List {
	l := cbor.List{}
	for _, s := range ss {
		l = append(l, cbor.String(s))
	}
	return l
}

var comparisons = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
	"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}

var statistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// maxAlarmPeriods bounds EvaluationPeriods × Period, as CloudWatch does.
const maxAlarmPeriods = 7 * 24 * 3600

func (s *Server) cwPutMetricAlarm(ctx context.Context, in cbor.Map) (cbor.Map, *cwErr) {
	a := &alarm{
		name:             cstr(in, "AlarmName"),
		description:      cstr(in, "AlarmDescription"),
		actionsEnabled:   cbool(in, "ActionsEnabled", true),
		okActions:        cstrs(in, "OKActions"),
		alarmActions:     cstrs(in, "AlarmActions"),
		insufficientActs: cstrs(in, "InsufficientDataActions"),
		metricName:       cstr(in, "MetricName"),
		namespace:        cstr(in, "Namespace"),
		statistic:        cstr(in, "Statistic"),
		extended:         cstr(in, "ExtendedStatistic"),
		unit:             cstr(in, "Unit"),
		comparison:       cstr(in, "ComparisonOperator"),
		treatMissing:     cstr(in, "TreatMissingData"),
		thresholdMetric:  cstr(in, "ThresholdMetricId"),
		metricMath:       len(cmaps(in, "Metrics")) > 0,
	}
	if a.name == "" {
		return nil, cwMissing("AlarmName")
	}
	if len(a.name) > 255 {
		return nil, cwInvalid("The parameter AlarmName must be at most 255 characters long.")
	}
	for _, d := range cmaps(in, "Dimensions") {
		a.dimensions = append(a.dimensions, dimension{cstr(d, "Name"), cstr(d, "Value")})
	}
	for _, t := range cmaps(in, "Tags") {
		if a.tags == nil {
			a.tags = map[string]string{}
		}
		a.tags[cstr(t, "Key")] = cstr(t, "Value")
	}
	n, ok, err := cint(in, "EvaluationPeriods")
	if err != nil || (ok && n < 1) {
		return nil, cwInvalid("The value for parameter EvaluationPeriods must be at least 1.")
	}
	if !ok {
		return nil, cwMissing("EvaluationPeriods")
	}
	a.evaluationPeriods = int32(n)
	a.datapointsToAlarm = a.evaluationPeriods
	if n, ok, err := cint(in, "DatapointsToAlarm"); err != nil || (ok && (n < 1 || n > int64(a.evaluationPeriods))) {
		return nil, cwInvalid("DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", a.evaluationPeriods)
	} else if ok {
		a.datapointsToAlarm, a.datapointsSet = int32(n), true
	}
	if a.comparison == "" {
		return nil, cwMissing("ComparisonOperator")
	}
	if !slices.Contains(comparisons, a.comparison) {
		return nil, cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError", "1 validation error detected: Value '%s' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: %v", a.comparison, comparisons)
	}
	if v, ok, err := cfloat(in, "Threshold"); err != nil {
		return nil, cwInvalid("The parameter Threshold must be a number.")
	} else if ok {
		a.threshold, a.thresholdSet = v, true
	}
	switch a.treatMissing {
	case "", "breaching", "notBreaching", "ignore", "missing":
	default:
		return nil, cwInvalid("The value %s is not valid for TreatMissingData; use breaching, notBreaching, ignore or missing.", a.treatMissing)
	}
	if !a.metricMath {
		if a.metricName == "" {
			return nil, cwMissing("MetricName")
		}
		if a.namespace == "" {
			return nil, cwMissing("Namespace")
		}
		if (a.statistic == "") == (a.extended == "") {
			return nil, cwErrorf(http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination", "Exactly one of Statistic and ExtendedStatistic must be given.")
		}
		if a.statistic != "" && !slices.Contains(statistics, a.statistic) {
			return nil, cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError", "1 validation error detected: Value '%s' at 'statistic' failed to satisfy constraint: Member must satisfy enum value set: %v", a.statistic, statistics)
		}
		p, ok, err := cint(in, "Period")
		if !ok {
			return nil, cwMissing("Period")
		}
		if err != nil || !(p == 10 || p == 20 || p == 30 || (p >= 60 && p%60 == 0)) {
			return nil, cwInvalid("The parameter Period must be 10, 20, 30 or a multiple of 60.")
		}
		a.period = int32(p)
		if int64(a.period)*int64(a.evaluationPeriods) > maxAlarmPeriods {
			return nil, cwInvalid("The evaluation period (EvaluationPeriods × Period) must not exceed 7 days.")
		}
		if !a.thresholdSet && a.thresholdMetric == "" {
			return nil, cwMissing("Threshold")
		}
	}
	if cerr := s.checkActions(a); cerr != nil {
		return nil, cerr
	}
	if a.instanceID() != "" {
		// Learn the instance before sampling it (see New).
		if _, err := s.refresh(ctx); err != nil {
			return nil, cwErrorf(http.StatusInternalServerError, "InternalServiceFault", "InternalServiceError", "%v", err)
		}
	}
	s.putAlarm(a)
	return cbor.Map{}, nil
}

// checkActions refuses EC2 actions CloudWatch would refuse: another
// region, or an alarm not on one instance.
func (s *Server) checkActions(a *alarm) *cwErr {
	for _, arn := range slices.Concat(a.alarmActions, a.okActions, a.insufficientActs) {
		act, region, ok := parseEC2Action(arn)
		if !ok {
			continue
		}
		if region != s.o.Region {
			return cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError", "Invalid region %s specified. Only %s is supported.", region, s.o.Region)
		}
		if act == "" {
			return cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError", "Invalid EC2 action in %s; valid actions are reboot, recover, stop and terminate.", arn)
		}
		if a.namespace != "AWS/EC2" || a.instanceID() == "" {
			return cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError", "The EC2 action %s needs a metric of namespace AWS/EC2 with an InstanceId dimension.", arn)
		}
	}
	return nil
}

func (s *Server) cwDescribeAlarms(in cbor.Map) (cbor.Map, *cwErr) {
	names, prefix := cstrs(in, "AlarmNames"), cstr(in, "AlarmNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, cwErrorf(http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be given together.")
	}
	state, actionPrefix := cstr(in, "StateValue"), cstr(in, "ActionPrefix")
	types := cstrs(in, "AlarmTypes")
	metricAlarms := cbor.List{}
	if len(types) == 0 || slices.Contains(types, "MetricAlarm") {
		s.mu.Lock()
		var list []*alarm
		for _, a := range s.alarms {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
		for _, a := range list {
			switch {
			case len(names) > 0 && !slices.Contains(names, a.name),
				prefix != "" && !strings.HasPrefix(a.name, prefix),
				state != "" && a.state != state:
				continue
			}
			if actionPrefix != "" && !slices.ContainsFunc(slices.Concat(a.alarmActions, a.okActions, a.insufficientActs),
				func(x string) bool { return strings.HasPrefix(x, actionPrefix) }) {
				continue
			}
			metricAlarms = append(metricAlarms, s.alarmCBOR(a))
		}
		s.mu.Unlock()
	}
	return cbor.Map{"MetricAlarms": metricAlarms, "CompositeAlarms": cbor.List{}}, nil
}

// alarmCBOR is a MetricAlarm. s.mu is held.
func (s *Server) alarmCBOR(a *alarm) cbor.Map {
	m := cbor.Map{
		"AlarmName":                          cbor.String(a.name),
		"AlarmArn":                           cbor.String(s.alarmARN(a.name)),
		"AlarmConfigurationUpdatedTimestamp": ctime(a.configUpdated),
		"ActionsEnabled":                     cbor.Bool(a.actionsEnabled),
		"OKActions":                          clist(a.okActions),
		"AlarmActions":                       clist(a.alarmActions),
		"InsufficientDataActions":            clist(a.insufficientActs),
		"StateValue":                         cbor.String(a.state),
		"StateReason":                        cbor.String(a.stateReason),
		"StateUpdatedTimestamp":              ctime(a.stateUpdated),
		"StateTransitionedTimestamp":         ctime(a.stateTransitioned),
		"EvaluationPeriods":                  cbor.Uint(a.evaluationPeriods),
		"ComparisonOperator":                 cbor.String(a.comparison),
	}
	opt := func(k, v string) {
		if v != "" {
			m[k] = cbor.String(v)
		}
	}
	opt("AlarmDescription", a.description)
	opt("StateReasonData", a.stateReasonData)
	opt("MetricName", a.metricName)
	opt("Namespace", a.namespace)
	opt("Statistic", a.statistic)
	opt("ExtendedStatistic", a.extended)
	opt("Unit", a.unit)
	opt("TreatMissingData", a.treatMissing)
	opt("ThresholdMetricId", a.thresholdMetric)
	if a.period > 0 {
		m["Period"] = cbor.Uint(a.period)
	}
	if a.datapointsSet {
		m["DatapointsToAlarm"] = cbor.Uint(a.datapointsToAlarm)
	}
	if a.thresholdSet {
		m["Threshold"] = cbor.Float64(a.threshold)
	}
	dims := cbor.List{}
	for _, d := range a.dimensions {
		dims = append(dims, cbor.Map{"Name": cbor.String(d.name), "Value": cbor.String(d.value)})
	}
	m["Dimensions"] = dims
	return m
}

func (s *Server) alarmARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.o.Region, s.o.AccountID, name)
}

func (s *Server) cwDeleteAlarms(in cbor.Map) (cbor.Map, *cwErr) {
	names := cstrs(in, "AlarmNames")
	if len(names) == 0 {
		return nil, cwMissing("AlarmNames")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if s.alarms[n] == nil {
			return nil, cwErrorf(http.StatusNotFound, "ResourceNotFound", "ResourceNotFound", "Alarm %s does not exist", n)
		}
	}
	now := s.now()
	for _, n := range names {
		s.alarms[n].stop()
		delete(s.alarms, n)
		s.recordLocked(n, historyConfiguration, now, fmt.Sprintf("Alarm %q deleted", n), configChange{Version: "1.0", Type: "Delete", Alarm: n})
	}
	return cbor.Map{}, nil
}
