package awslocal

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Alarm history: what DescribeAlarmHistory returns. An alarm on a crashed
// instance may go to ALARM, reboot it and be back to OK within a couple of
// (scaled) periods, too quickly for a caller polling DescribeAlarms to see
// it in ALARM; the history keeps the transition. Like CloudWatch's, it
// outlives the alarm's deletion. CloudWatch keeps 30 days of it; the
// stand-in keeps the last maxHistory items of all alarms.

// History item types.
const (
	historyConfiguration = "ConfigurationUpdate"
	historyState         = "StateUpdate"
	historyAction        = "Action"
)

var historyTypes = []string{historyConfiguration, historyState, historyAction, "AlarmContributorStateUpdate", "AlarmContributorAction"}

// maxHistory bounds the history the server keeps.
const maxHistory = 1000

// historyItem is one entry of an alarm's history.
type historyItem struct {
	seq     int64 // increasing; NextToken tokens point at it
	alarm   string
	typ     string
	at      time.Time
	summary string
	data    string // JSON
}

// stateDoc and stateChangeDoc make a StateUpdate item's HistoryData: the
// state before and after, each with its reason.
type stateDoc struct {
	StateValue      string          `json:"stateValue"`
	StateReason     string          `json:"stateReason"`
	StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
}

type stateChangeDoc struct {
	Version  string   `json:"version"`
	OldState stateDoc `json:"oldState"`
	NewState stateDoc `json:"newState"`
}

// configChange is a ConfigurationUpdate item's HistoryData.
type configChange struct {
	Version string `json:"version"`
	Type    string `json:"type"` // Create, Update, Delete
	Alarm   string `json:"alarmName"`
}

// actionDoc is an Action item's HistoryData.
type actionDoc struct {
	ActionState string `json:"actionState"` // Succeeded, Failed
	Resource    string `json:"notificationResource"`
	At          string `json:"stateUpdateTimestamp"`
	Error       string `json:"error,omitempty"`
}

// rawJSON is a JSON document to embed, nil when s is empty or not JSON.
func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// recordLocked appends a history item, dropping the oldest beyond
// maxHistory. s.mu is held.
func (s *Server) recordLocked(alarm, typ string, at time.Time, summary string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte("{}")
	}
	s.histSeq++
	s.history = append(s.history, historyItem{seq: s.histSeq, alarm: alarm, typ: typ, at: at, summary: summary, data: string(b)})
	if over := len(s.history) - maxHistory; over > 0 {
		s.history = slices.Delete(s.history, 0, over)
	}
}

// recordActionLocked records the outcome of an alarm action. s.mu is held.
func (s *Server) recordActionLocked(alarm, arn string, at time.Time, err error) {
	doc := actionDoc{ActionState: "Succeeded", Resource: arn, At: at.UTC().Format("2006-01-02T15:04:05.000+0000")}
	summary := "Successfully executed action " + arn
	if err != nil {
		doc.ActionState, doc.Error = "Failed", err.Error()
		summary = "Failed to execute action " + arn
	}
	s.recordLocked(alarm, historyAction, at, summary, doc)
}

// historyToken is the NextToken that continues after item seq.
func historyToken(seq int64) string { return "awslocal-history-" + strconv.FormatInt(seq, 10) }

func (s *Server) cwDescribeAlarmHistory(in cbor.Map) (cbor.Map, *cwErr) {
	name, typ := cstr(in, "AlarmName"), cstr(in, "HistoryItemType")
	if typ != "" && !slices.Contains(historyTypes, typ) {
		return nil, cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError",
			"1 validation error detected: Value '%s' at 'historyItemType' failed to satisfy constraint: Member must satisfy enum value set: %v", typ, historyTypes)
	}
	var start, end time.Time
	for k, t := range map[string]*time.Time{"StartDate": &start, "EndDate": &end} {
		v, ok := cget(in, k)
		if !ok {
			continue
		}
		at, err := cbor.AsTime(v)
		if err != nil {
			return nil, cwInvalid("The parameter %s must be a timestamp.", k)
		}
		*t = at
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return nil, cwInvalid("The parameter EndDate must be after StartDate.")
	}
	limit := int64(50)
	if n, ok, err := cint(in, "MaxRecords"); err != nil || ok && (n < 1 || n > 100) {
		return nil, cwInvalid("The parameter MaxRecords must be between 1 and 100.")
	} else if ok {
		limit = n
	}
	ascending := false
	switch scan := cstr(in, "ScanBy"); scan {
	case "", "TimestampDescending":
	case "TimestampAscending":
		ascending = true
	default:
		return nil, cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError",
			"1 validation error detected: Value '%s' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]", scan)
	}
	var after int64 // the last item of the previous page
	if tok := cstr(in, "NextToken"); tok != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(tok, "awslocal-history-"), 10, 64)
		if err != nil || !strings.HasPrefix(tok, "awslocal-history-") {
			return nil, cwErrorf(http.StatusBadRequest, "InvalidNextToken", "InvalidNextToken", "The service couldn't process your request because the NextToken is not valid.")
		}
		after = n
	}
	// Only metric alarms exist here, none with contributors.
	types := cstrs(in, "AlarmTypes")
	metricAlarms := len(types) == 0 || slices.Contains(types, "MetricAlarm")
	contributor := cstr(in, "AlarmContributorId")

	s.mu.Lock()
	var match []historyItem
	for _, h := range s.history {
		switch {
		case !metricAlarms, contributor != "",
			name != "" && h.alarm != name,
			typ != "" && h.typ != typ,
			!start.IsZero() && h.at.Before(start),
			!end.IsZero() && h.at.After(end):
			continue
		}
		match = append(match, h)
	}
	s.mu.Unlock()
	// Items are recorded in time order; seq breaks ties.
	sort.SliceStable(match, func(i, j int) bool {
		if ascending {
			return match[i].seq < match[j].seq
		}
		return match[i].seq > match[j].seq
	})
	if after != 0 {
		i := slices.IndexFunc(match, func(h historyItem) bool {
			if ascending {
				return h.seq > after
			}
			return h.seq < after
		})
		if i < 0 {
			i = len(match)
		}
		match = match[i:]
	}
	out := cbor.Map{}
	if int64(len(match)) > limit {
		match = match[:limit]
		out["NextToken"] = cbor.String(historyToken(match[len(match)-1].seq))
	}
	list := cbor.List{}
	for _, h := range match {
		list = append(list, cbor.Map{
			"AlarmName":       cbor.String(h.alarm),
			"AlarmType":       cbor.String("MetricAlarm"),
			"Timestamp":       ctime(h.at),
			"HistoryItemType": cbor.String(h.typ),
			"HistorySummary":  cbor.String(h.summary),
			"HistoryData":     cbor.String(h.data),
		})
	}
	out["AlarmHistoryItems"] = list
	return out, nil
}

// cwDescribeAlarmsForMetric lists the metric alarms on one metric: the
// namespace, name and dimensions must match exactly (an alarm on a metric
// with dimensions is not found without them, as on CloudWatch); the
// statistic, extended statistic, period and unit narrow the list when
// given.
func (s *Server) cwDescribeAlarmsForMetric(in cbor.Map) (cbor.Map, *cwErr) {
	metric, ns := cstr(in, "MetricName"), cstr(in, "Namespace")
	if metric == "" {
		return nil, cwMissing("MetricName")
	}
	if ns == "" {
		return nil, cwMissing("Namespace")
	}
	want := map[string]string{}
	for _, d := range cmaps(in, "Dimensions") {
		want[cstr(d, "Name")] = cstr(d, "Value")
	}
	statistic, extended, unit := cstr(in, "Statistic"), cstr(in, "ExtendedStatistic"), cstr(in, "Unit")
	if statistic != "" && !slices.Contains(statistics, statistic) {
		return nil, cwErrorf(http.StatusBadRequest, "ValidationException", "ValidationError",
			"1 validation error detected: Value '%s' at 'statistic' failed to satisfy constraint: Member must satisfy enum value set: %v", statistic, statistics)
	}
	period, hasPeriod, err := cint(in, "Period")
	if err != nil || hasPeriod && period < 1 {
		return nil, cwInvalid("The parameter Period must be a positive number of seconds.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := cbor.List{}
	for _, n := range sortedKeys(s.alarms) {
		a := s.alarms[n]
		switch {
		case a.metricMath, a.metricName != metric, a.namespace != ns, !sameDimensions(a.dimensions, want),
			statistic != "" && a.statistic != statistic,
			extended != "" && a.extended != extended,
			unit != "" && a.unit != unit,
			hasPeriod && int64(a.period) != period:
			continue
		}
		list = append(list, s.alarmCBOR(a))
	}
	return cbor.Map{"MetricAlarms": list}, nil
}

func sameDimensions(have []dimension, want map[string]string) bool {
	if len(have) != len(want) {
		return false
	}
	for _, d := range have {
		if v, ok := want[d.name]; !ok || v != d.value {
			return false
		}
	}
	return true
}
