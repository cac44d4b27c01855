package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Options tune the HTML report.
type Options struct {
	// Title heads the page; default "kdrill drill report", or "kdrill
	// audit report" for a file with an audit and no scenario.
	Title string
	// Source names the results file the report was made from; shown in the
	// environment section when set.
	Source string
}

// maxTransitionsLogged caps the prober state changes the event log lists
// per prober: a flapping prober can change state thousands of times, and
// those stay in the results file. Events from faults and mitigations are
// always all listed.
const maxTransitionsLogged = 25

var (
	//go:embed report.html.tmpl
	pageText string
	//go:embed report.css
	pageCSS string

	page = template.Must(template.New("report").Funcs(template.FuncMap{
		"upper": func(v slo.Verdict) string { return strings.ToUpper(string(v)) },
	}).Parse(pageText))
)

// HTML writes the report of f to w as one self-contained HTML page: inline
// CSS and SVG, no scripts, nothing fetched over the network. The page is
// rendered in memory first, so on error nothing is written to w.
func HTML(w io.Writer, f *results.File, o Options) error {
	if f == nil {
		return fmt.Errorf("html report: no results")
	}
	if o.Title == "" {
		o.Title = "kdrill drill report"
		if len(f.Scenarios) == 0 && f.Audit != nil {
			o.Title = "kdrill audit report"
		}
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, newPageView(f, o)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// Overall is the verdict of a whole run: fail if any scenario or audit
// check failed, else error if any scenario errored or nothing was drilled
// or audited, else pass.
func Overall(f *results.File) slo.Verdict {
	if len(f.Audit.Failed()) > 0 {
		return slo.Fail
	}
	if len(f.Scenarios) == 0 && f.Audit == nil {
		return slo.Error
	}
	v := slo.Pass
	for _, s := range f.Scenarios {
		switch s.Verdict {
		case slo.Fail:
			return slo.Fail
		case slo.Error:
			v = slo.Error
		}
	}
	return v
}

// The view the template renders: every figure already formatted.
type (
	pageView struct {
		Title, Source, Schema string
		CSS                   template.CSS
		Overall               slo.Verdict
		Counts                string
		Run                   results.Run
		RunStart, RunEnd      string
		RunDuration           string
		Rows                  []summaryRow
		Scenarios             []scenarioView
		Bounds                []boundsRow
		// Drills is false for a file with an audit and no scenario: the
		// page then leaves out the drills' summary and bounds.
		Drills bool
		Audit  *auditView
	}
	auditView struct {
		Verdict slo.Verdict
		Target  string
		When    string
		Counts  string
		Checks  []auditRow
	}
	auditRow struct {
		Name, About, Reason string
		Verdict             slo.Verdict
	}
	summaryRow struct {
		ID                    string
		Verdict               slo.Verdict
		Reason                string
		RTO, Availability, LW metricCell
	}
	metricCell struct {
		Measured, Exact, Bound, Margin string
		Verdict                        slo.Verdict // of the check; "" when not bounded
	}
	scenarioView struct {
		ID      string
		Verdict slo.Verdict
		Reason  string
		Claim   string
		When    string
		Chart   template.HTML
		// Latency is how the chart's latency panel is drawn: panelSeries,
		// panelFlat or panelNone; LatencyWidth the bucket width of a series.
		Latency      string
		LatencyWidth string
		Checks       []checkRow
		Probers      []proberRow
		Writes       *results.Writes
		Events       []eventRow
		Zero         string // what relative times count from
	}
	checkRow struct {
		Name    string
		Verdict slo.Verdict
		figures
		Detail string
	}
	proberRow struct {
		Prober, Samples, Attempts, Successes, Ratio, Outages, Down, P50, P99, Final, Responders string
		Recovery                                                                                bool
	}
	eventRow struct {
		Rel, Time, What, Source, Details string
		Class                            string // event kind, or "transition"
	}
	boundsRow struct {
		ID, RTO, Availability, LostWrites, RPO string
	}
)

// claims sums up each known scenario from docs/scenarios.md.
var claims = map[string]string{
	slo.APIServerCrash:   "Kill the kube-apiserver on the control-plane node. Pods and Services keep serving; API writes fail until the kubelet restarts the static pod.",
	slo.KubeletCrash:     "Kill the kubelet on the control-plane node. The control plane keeps serving; systemd restarts the kubelet; no pod churn.",
	slo.VMShutdown:       "Stop the control-plane machine. Pods and Services keep serving; a status-check alarm (2 of 2 failed checks) reboots it.",
	slo.EtcdDataLoss:     "Wipe etcd's data directory. Kubelets keep running pods; etcd is restored from the latest backup and the apiserver restarted.",
	slo.NetworkPartition: "Cut the control-plane node off from the workers. Workloads in the workers' zone keep serving until a control plane reachable from them works again.",
}

func newPageView(f *results.File, o Options) pageView {
	v := pageView{
		Title:   o.Title,
		Source:  o.Source,
		Schema:  f.Schema,
		CSS:     template.CSS(pageCSS),
		Overall: Overall(f),
		Run:     f.Run,
	}
	var pass, fail, errs int
	for _, s := range f.Scenarios {
		switch s.Verdict {
		case slo.Pass:
			pass++
		case slo.Fail:
			fail++
		default:
			errs++
		}
	}
	v.Drills = len(f.Scenarios) > 0 || f.Audit == nil
	var counts []string
	if v.Drills {
		counts = append(counts, fmt.Sprintf("%d scenario(s): %d passed, %d failed, %d errored", len(f.Scenarios), pass, fail, errs))
	}
	if f.Audit != nil {
		v.Audit = newAuditView(f.Audit)
		counts = append(counts, v.Audit.Counts)
	}
	v.Counts = strings.Join(counts, "; ")
	v.RunStart, v.RunEnd = wallTime(f.Run.Start, "2006-01-02 15:04:05 UTC"), wallTime(f.Run.End, "2006-01-02 15:04:05 UTC")
	if !f.Run.Start.IsZero() && !f.Run.End.IsZero() {
		v.RunDuration = span(f.Run.End.Sub(f.Run.Start).Seconds())
	}
	for i := range f.Scenarios {
		s := &f.Scenarios[i]
		v.Rows = append(v.Rows, newSummaryRow(s))
		v.Scenarios = append(v.Scenarios, newScenarioView(s))
		v.Bounds = append(v.Bounds, newBoundsRow(s))
	}
	return v
}

func wallTime(t time.Time, layout string) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(layout)
}

func findCheck(s *results.Scenario, name string) *slo.Check {
	for i := range s.Checks {
		if s.Checks[i].Name == name {
			return &s.Checks[i]
		}
	}
	return nil
}

// cell formats one measurement of the summary: from its check if the bound
// was checked, else the bare measurement, "not bounded".
func cell(s *results.Scenario, check string, measured *float64, format func(float64) string, missing string) metricCell {
	if c := findCheck(s, check); c != nil {
		f := checkFigures(*c)
		if c.Measured == nil && missing != "" {
			f.Measured = missing
		}
		return metricCell{Measured: f.Measured, Exact: f.Exact, Bound: f.Bound, Margin: f.Margin, Verdict: c.Verdict}
	}
	m := metricCell{Measured: missing, Bound: "not bounded"}
	if measured != nil {
		m.Measured, m.Exact = format(*measured), exact(*measured)
	}
	return m
}

func newSummaryRow(s *results.Scenario) summaryRow {
	var lost *float64
	if s.LostAcknowledgedWrites != nil {
		n := float64(*s.LostAcknowledgedWrites)
		lost = &n
	}
	return summaryRow{
		ID:           s.ID,
		Verdict:      s.Verdict,
		Reason:       s.Reason,
		RTO:          cell(s, slo.CheckRTO, s.RTOSeconds, seconds, "not measured"),
		Availability: cell(s, slo.CheckAvailability, s.DataPlaneAvailability, percent, "not measured"),
		LW:           cell(s, slo.CheckLostWrites, lost, func(v float64) string { return num(v, 0) }, "not verified"),
	}
}

func newBoundsRow(s *results.Scenario) boundsRow {
	b := boundsRow{ID: s.ID, RTO: "not checked", Availability: "not checked", LostWrites: "not checked", RPO: "not checked"}
	if v := s.SLO.MaxRTOSeconds; v != nil {
		b.RTO = "≤ " + seconds(*v)
	}
	if v := s.SLO.MinDataPlaneAvailability; v != nil {
		b.Availability = "≥ " + percent(*v)
	}
	if v := s.SLO.MaxLostAcknowledgedWrites; v != nil {
		b.LostWrites = "≤ " + count(*v)
	}
	switch n, iv, secs := s.SLO.MaxRPOBackupIntervals, s.SLO.BackupIntervalSeconds, s.SLO.MaxRPOSeconds; {
	case n != nil && iv != nil && secs != nil:
		b.RPO = fmt.Sprintf("≤ %s backup interval(s) of %s = %s", num(*n, 3), seconds(*iv), seconds(*secs))
	case n != nil:
		b.RPO = fmt.Sprintf("≤ %s backup interval(s), interval unknown", num(*n, 3))
	case secs != nil:
		b.RPO = "≤ " + seconds(*secs)
	}
	return b
}

func newScenarioView(s *results.Scenario) scenarioView {
	v := scenarioView{ID: s.ID, Verdict: s.Verdict, Reason: s.Reason, Claim: claims[s.ID], Writes: s.Writes}
	for _, c := range s.Checks {
		v.Checks = append(v.Checks, checkRow{Name: c.Name, Verdict: c.Verdict, figures: checkFigures(c), Detail: c.Detail})
	}
	recovery := slo.RecoveryProbers(s.ID)
	for _, p := range s.Probers {
		r := proberRow{
			Prober: p.Prober, Samples: "—", Attempts: count(p.Attempts), Successes: count(p.Successes),
			Ratio: "—", Outages: "—", Down: "—", P50: "—", P99: "—", Final: "—",
			Recovery: slices.Contains(recovery, p.Prober),
		}
		if p.Ratio != nil {
			r.Ratio = percent(*p.Ratio)
		}
		if p.LatencyP50 != nil {
			r.P50 = latency(*p.LatencyP50)
		}
		if p.LatencyP99 != nil {
			r.P99 = latency(*p.LatencyP99)
		}
		if s.Timeline != nil {
			if tr := s.Timeline.Track(p.Prober); tr != nil {
				r.Samples, r.Final = count(tr.Samples), string(tr.Final)
				outs := s.Timeline.Outages(p.Prober)
				var down float64
				for _, o := range outs {
					down += o.Duration().Seconds()
				}
				r.Outages, r.Down = count(len(outs)), seconds(down)
			}
		}
		var rs []string
		for _, pod := range slices.Sorted(maps.Keys(p.Responders)) {
			rs = append(rs, fmt.Sprintf("%s: %s", pod, count(p.Responders[pod])))
		}
		r.Responders = strings.Join(rs, ", ")
		v.Probers = append(v.Probers, r)
	}
	tl := s.Timeline
	if tl == nil {
		return v
	}
	v.Chart = template.HTML(timelineSVG(s))
	if p := latencyPanelOf(s); p.mode != panelNone {
		v.Latency = p.mode
		if p.mode == panelSeries {
			v.LatencyWidth = bucketWidth(p.width)
		}
	}
	zero, ok := faultZero(tl)
	if ok {
		e, _ := tl.FirstEvent(timeline.FaultInjected)
		v.Zero = "the fault's injection"
		v.When = fmt.Sprintf("Fault injected at %s UTC, %s into the drill. The drill ran %s from %s UTC; probers changed state after %d agreeing results.",
			wallTime(e.Time, "15:04:05.000"), seconds(zero), span(tl.Duration.Seconds()), wallTime(tl.Start, "2006-01-02 15:04:05"), tl.Debounce)
	} else {
		v.Zero = "the start of the drill (no fault was injected)"
		v.When = fmt.Sprintf("No fault was injected. The drill ran %s from %s UTC.", span(tl.Duration.Seconds()), wallTime(tl.Start, "2006-01-02 15:04:05"))
	}
	v.Events = eventLog(tl, zero)
	return v
}

// eventLog lists the events and the probers' state changes in time order,
// at most maxTransitionsLogged changes per prober.
func eventLog(tl *timeline.Timeline, zero float64) []eventRow {
	type item struct {
		at  float64
		row eventRow
	}
	var items []item
	for _, e := range tl.Events {
		items = append(items, item{e.At.Seconds(), eventRow{
			Rel: rel(e.At.Seconds() - zero), Time: wallTime(e.Time, "15:04:05.000"),
			What: string(e.Kind), Source: e.Source, Details: attrsText(e.Attrs), Class: string(e.Kind),
		}})
	}
	for _, tr := range tl.Probers {
		for i, x := range tr.Transitions {
			if i == maxTransitionsLogged {
				last := tr.Transitions[len(tr.Transitions)-1]
				items = append(items, item{x.At.Seconds(), eventRow{
					Rel: rel(x.At.Seconds() - zero), Time: wallTime(x.Time, "15:04:05.000"),
					What:   fmt.Sprintf("%s: %s more state changes", tr.Prober, count(len(tr.Transitions)-i)),
					Source: "prober " + tr.Prober, Class: "transition",
					Details: fmt.Sprintf("not listed here; the last at %s (to %s); all are in the results file and drawn in the chart",
						rel(last.At.Seconds()-zero), last.To),
				}})
				break
			}
			items = append(items, item{x.At.Seconds(), eventRow{
				Rel: rel(x.At.Seconds() - zero), Time: wallTime(x.Time, "15:04:05.000"),
				What:   fmt.Sprintf("%s %s → %s", tr.Prober, x.From, x.To),
				Source: "prober " + tr.Prober, Details: x.Detail, Class: "transition",
			}})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	rows := make([]eventRow, len(items))
	for i, it := range items {
		rows[i] = it.row
	}
	return rows
}

// attrsText writes event attributes as sorted key=value pairs.
func attrsText(attrs map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", k, attrs[k])
	}
	return b.String()
}

// auditAbout says what each check of 'kdrill audit' looks for (the names
// harness/aws and the kind audit use), for a reader who does not know
// the names. A check not listed here is shown without it.
var auditAbout = map[string]string{
	"status-check-alarm":        "A status-check alarm reboots the control plane: 2 of 2 failed checks of 60 s.",
	"etcd-on-persistent-volume": "etcd's data directory outlives the control-plane machine.",
	"etcd-backup-restorable":    "The newest etcd snapshot is younger than the backup interval and restores.",
	"control-plane-zone":        "The control plane shares a zone with workers, or can be re-provisioned into theirs.",
}

func newAuditView(a *results.Audit) *auditView {
	v := &auditView{Verdict: slo.Pass, Target: a.Target, When: wallTime(a.Time, "2006-01-02 15:04:05 UTC")}
	failed := len(a.Failed())
	if failed > 0 {
		v.Verdict = slo.Fail
	}
	v.Counts = fmt.Sprintf("%d audit check(s): %d passed, %d failed", len(a.Checks), len(a.Checks)-failed, failed)
	for _, c := range a.Checks {
		r := auditRow{Name: c.Name, About: auditAbout[c.Name], Reason: c.Reason, Verdict: slo.Pass}
		if !c.Pass {
			r.Verdict = slo.Fail
		}
		v.Checks = append(v.Checks, r)
	}
	return v
}
