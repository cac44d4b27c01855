package reports

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
	"github.com/kdrill/kdrill/harness/timeline"
)

// Results files of real drills on a kind cluster: kubelet-crash and
// vm-shutdown in one run, apiserver-crash in another, both from before
// the timeline kept latency series; and apiserver-crash with them.
const (
	realDrill     = "testdata/kind-drill.json"
	realAPIServer = "testdata/kind-apiserver-crash.json"
	realLatency   = "testdata/kind-apiserver-crash-latency.json"
)

// docExample reads the example in docs/results.md: a passed apiserver-crash
// and an errored vm-shutdown with no timeline.
func docExample(t *testing.T) *results.File {
	t.Helper()
	const path = "../docs/results.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```json\n")
	example, _, _ := strings.Cut(rest, "```")
	f, err := results.Parse(path, []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readFile(t testing.TB, path string) *results.File {
	t.Helper()
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Helpers over the parsed page.

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// findAll returns the element nodes under n (n included) that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string, classes ...string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Data != name {
			return false
		}
		for _, c := range classes {
			if !hasClass(n, c) {
				return false
			}
		}
		return true
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		// A title is a tooltip, not the visible text.
		if n.Type == html.ElementNode && n.Data == "title" {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func cells(tr *html.Node) []string {
	var out []string
	for _, c := range findAll(tr, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
		out = append(out, text(c))
	}
	return out
}

func render(t testing.TB, f *results.File) (*html.Node, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, f, Options{Source: "results.json"}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, buf.Bytes()
}

func float(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return v
}

// TestHTMLMatchesResults checks the page against the file it was made from:
// one summary row per scenario with its verdict and figures, one chart per
// timeline with one lane per prober, whose down bands are the prober's
// outages, markers where the fault, the recovery and the SLO deadline were,
// and every event in the event log.
func TestHTMLMatchesResults(t *testing.T) {
	tests := []struct {
		name    string
		file    func(t *testing.T) *results.File
		overall slo.Verdict
	}{
		{"real kind drill", func(t *testing.T) *results.File { return readFile(t, realDrill) }, slo.Pass},
		{"real apiserver-crash drill", func(t *testing.T) *results.File { return readFile(t, realAPIServer) }, slo.Pass},
		{"real drill with a latency series", func(t *testing.T) *results.File { return readFile(t, realLatency) }, slo.Pass},
		{"docs example", docExample, slo.Error},
		{"failed run", func(*testing.T) *results.File { return failedFile() }, slo.Fail},
		{"game day", func(t *testing.T) *results.File { return gameDay(t) }, slo.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file(t)
			doc, raw := render(t, f)
			checkSelfContained(t, doc, raw)

			overall := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "overall" })
			if len(overall) != 1 || attr(overall[0], "data-verdict") != string(tt.overall) {
				t.Errorf("overall verdict element %v, want data-verdict %s", overall, tt.overall)
			}

			rows := findAll(doc, tag("tr", "scenario-row"))
			if len(rows) != len(f.Scenarios) {
				t.Fatalf("summary has %d scenario rows, want %d", len(rows), len(f.Scenarios))
			}
			for i, sc := range f.Scenarios {
				checkSummaryRow(t, rows[i], &sc)
			}

			sections := findAll(doc, tag("section", "scenario"))
			if len(sections) != len(f.Scenarios) {
				t.Fatalf("%d scenario sections, want %d", len(sections), len(f.Scenarios))
			}
			for i := range f.Scenarios {
				sc := &f.Scenarios[i]
				sec := sections[i]
				if attr(sec, "data-scenario") != sc.ID {
					t.Errorf("section %d is %q, want %q", i, attr(sec, "data-scenario"), sc.ID)
				}
				svgs := findAll(sec, tag("svg", "timeline"))
				if sc.Timeline == nil {
					if len(svgs) != 0 {
						t.Errorf("%s has no timeline but a chart", sc.ID)
					}
					continue
				}
				if len(svgs) != 1 {
					t.Fatalf("%s: %d charts, want 1", sc.ID, len(svgs))
				}
				checkChart(t, svgs[0], sc)
				checkEventLog(t, sec, sc)
			}
			checkEnvironment(t, doc, f)
		})
	}
}

// checkSelfContained: nothing on the page may reach the network or run.
func checkSelfContained(t *testing.T, doc *html.Node, raw []byte) {
	t.Helper()
	if !bytes.HasPrefix(raw, []byte("<!DOCTYPE html>")) {
		t.Error("the page does not start with a doctype")
	}
	if s := findAll(doc, tag("script")); len(s) > 0 {
		t.Errorf("the page has %d script elements", len(s))
	}
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			switch {
			case a.Key == "src", n.Data == "link" && a.Key == "href":
				t.Errorf("<%s %s=%q>: the page must not load anything", n.Data, a.Key, a.Val)
			case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
				t.Errorf("<%s href=%q> leaves the page", n.Data, a.Val)
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s>: event handler attribute", n.Data, a.Key)
			}
		}
	}
	csp := findAll(doc, func(n *html.Node) bool {
		return n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy"
	})
	if len(csp) != 1 || !strings.Contains(attr(csp[0], "content"), "default-src 'none'") {
		t.Error("the page lacks its Content-Security-Policy forbidding loads")
	}
	if bytes.Contains(raw, []byte("http://")) && !bytes.Contains(raw, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
		t.Error("the page mentions an http URL")
	}
}

func checkSummaryRow(t *testing.T, row *html.Node, sc *results.Scenario) {
	t.Helper()
	c := cells(row)
	if attr(row, "data-scenario") != sc.ID || c[0] != sc.ID {
		t.Errorf("summary row %v, want scenario %s", c, sc.ID)
		return
	}
	if attr(row, "data-verdict") != string(sc.Verdict) || c[1] != strings.ToUpper(string(sc.Verdict)) {
		t.Errorf("%s: verdict cell %q, want %s", sc.ID, c[1], sc.Verdict)
	}
	if len(c) != 11 {
		t.Fatalf("%s: %d cells, want 11: %v", sc.ID, len(c), c)
	}
	// RTO: measured, bound, margin, rounded to the millisecond with the full
	// figure in the title.
	rto := findAll(row, tag("td", "num"))[0]
	switch {
	case sc.RTOSeconds == nil:
		if c[2] != "not measured" {
			t.Errorf("%s: RTO cell %q, want not measured", sc.ID, c[2])
		}
	default:
		if got := float(t, strings.TrimSuffix(c[2], " s")); math.Abs(got-*sc.RTOSeconds) > 0.0005 {
			t.Errorf("%s: RTO cell %q, file says %v", sc.ID, c[2], *sc.RTOSeconds)
		}
		if attr(rto, "title") != strconv.FormatFloat(*sc.RTOSeconds, 'g', -1, 64) {
			t.Errorf("%s: RTO title %q, want the exact %v", sc.ID, attr(rto, "title"), *sc.RTOSeconds)
		}
	}
	if b := sc.SLO.MaxRTOSeconds; b != nil && c[3] != "≤ "+num(*b, 3)+" s" {
		t.Errorf("%s: RTO SLO cell %q, want ≤ %v s", sc.ID, c[3], *b)
	}
	for _, ch := range sc.Checks {
		col := map[string]int{slo.CheckRTO: 4, slo.CheckAvailability: 7, slo.CheckLostWrites: 10}[ch.Name]
		if col == 0 {
			continue
		}
		if ch.Margin == nil {
			if c[col] != "" {
				t.Errorf("%s: %s margin %q, want none", sc.ID, ch.Name, c[col])
			}
			continue
		}
		m := strings.NewReplacer("−", "-", "+", "", " s", "", " pp", "").Replace(c[col])
		want := *ch.Margin
		if ch.Unit == "ratio" {
			want *= 100
		}
		if got := float(t, m); math.Abs(got-want) > 0.0005 {
			t.Errorf("%s: %s margin %q, file says %v", sc.ID, ch.Name, c[col], want)
		}
	}
	if a := sc.DataPlaneAvailability; a != nil {
		if got := float(t, strings.TrimSuffix(c[5], " %")); math.Abs(got-*a*100) > 0.0005 {
			t.Errorf("%s: availability %q, file says %v", sc.ID, c[5], *a)
		}
	}
	switch n := sc.LostAcknowledgedWrites; {
	case n == nil && c[8] != "not verified":
		t.Errorf("%s: lost writes %q, want not verified", sc.ID, c[8])
	case n != nil && c[8] != strconv.Itoa(*n):
		t.Errorf("%s: lost writes %q, file says %d", sc.ID, c[8], *n)
	}
}

func checkChart(t *testing.T, svg *html.Node, sc *results.Scenario) {
	t.Helper()
	tl := sc.Timeline
	lanes := findAll(svg, tag("g", "lane"))
	if len(lanes) != len(tl.Probers) {
		t.Fatalf("%s: %d lanes, want one per prober: %d", sc.ID, len(lanes), len(tl.Probers))
	}
	for i, lane := range lanes {
		tr := tl.Probers[i]
		outs := tl.Outages(tr.Prober)
		if attr(lane, "data-prober") != tr.Prober || attr(lane, "data-samples") != strconv.Itoa(tr.Samples) ||
			attr(lane, "data-outages") != strconv.Itoa(len(outs)) {
			t.Errorf("%s lane %d: prober %s samples %s outages %s, want %s %d %d", sc.ID, i,
				attr(lane, "data-prober"), attr(lane, "data-samples"), attr(lane, "data-outages"), tr.Prober, tr.Samples, len(outs))
		}
		if label := findAll(lane, tag("text", "lane-label")); len(label) != 1 || !strings.HasPrefix(text(label[0]), tr.Prober) {
			t.Errorf("%s lane %s: label %v", sc.ID, tr.Prober, label)
		}
		if attr(lane, "data-mode") == "downsampled" {
			if len(tr.Transitions) <= maxExactBands {
				t.Errorf("%s lane %s downsampled with only %d transitions", sc.ID, tr.Prober, len(tr.Transitions))
			}
			if len(outs) > 0 && len(findAll(lane, tag("path", "band", "down")))+len(findAll(lane, tag("path", "band", "mixed"))) == 0 {
				t.Errorf("%s lane %s: downsampled with outages but nothing drawn down", sc.ID, tr.Prober)
			}
			continue
		}
		// Drawn exactly: one down band per outage, at the outage.
		downs := findAll(lane, tag("rect", "band", "down"))
		if len(downs) != len(outs) {
			t.Errorf("%s lane %s: %d down bands, want %d outages", sc.ID, tr.Prober, len(downs), len(outs))
			continue
		}
		for k, o := range outs {
			from, to := float(t, attr(downs[k], "data-from")), float(t, attr(downs[k], "data-to"))
			if math.Abs(from-o.Start.Seconds()) > 0.0005 || math.Abs(to-o.End.Seconds()) > 0.0005 {
				t.Errorf("%s lane %s band %d: %v–%v, outage %v–%v", sc.ID, tr.Prober, k, from, to, o.Start.Seconds(), o.End.Seconds())
			}
		}
		if len(findAll(lane, tag("rect", "band", "up"))) == 0 && tr.Final == timeline.Up {
			t.Errorf("%s lane %s: no up band though it ended up", sc.ID, tr.Prober)
		}
	}
	checkLatency(t, svg, sc)
	markerAt := func(class string) []float64 {
		var out []float64
		for _, m := range findAll(svg, tag("g", "marker", class)) {
			out = append(out, float(t, attr(m, "data-at")))
		}
		return out
	}
	inject, ok := tl.FirstEvent(timeline.FaultInjected)
	if !ok {
		return
	}
	if got := markerAt("fault-injected"); len(got) == 0 || math.Abs(got[0]-inject.At.Seconds()) > 0.0005 {
		t.Errorf("%s: fault-injected markers %v, want one at %v", sc.ID, got, inject.At.Seconds())
	}
	if r := sc.RTOSeconds; r != nil && *r > 0 {
		if got := markerAt("recovery"); len(got) != 1 || math.Abs(got[0]-(inject.At.Seconds()+*r)) > 0.0005 {
			t.Errorf("%s: recovery marker %v, want at %v", sc.ID, got, inject.At.Seconds()+*r)
		}
	}
	if b := sc.SLO.MaxRTOSeconds; b != nil {
		if got := markerAt("deadline"); len(got) != 1 || math.Abs(got[0]-(inject.At.Seconds()+*b)) > 0.0005 {
			t.Errorf("%s: deadline marker %v, want at %v", sc.ID, got, inject.At.Seconds()+*b)
		}
	}
	var mitigations int
	for _, e := range tl.Events {
		if e.Kind == timeline.MitigationStarted || e.Kind == timeline.MitigationFinished {
			mitigations++
		}
	}
	if got := len(markerAt("mitigation")); got != mitigations {
		t.Errorf("%s: %d mitigation markers, want %d", sc.ID, got, mitigations)
	}
	if w := findAll(svg, tag("rect", "fault-window")); len(w) == 0 {
		t.Errorf("%s: no fault window drawn", sc.ID)
	}
}

func checkEventLog(t *testing.T, sec *html.Node, sc *results.Scenario) {
	t.Helper()
	tl := sc.Timeline
	rows := findAll(sec, tag("tr", "ev"))
	want := len(tl.Events)
	for _, tr := range tl.Probers {
		want += min(len(tr.Transitions), maxTransitionsLogged+1)
	}
	if len(rows) != want {
		t.Fatalf("%s: %d event log rows, want %d", sc.ID, len(rows), want)
	}
	zero, _ := faultZero(tl)
	var events []*html.Node
	last := math.Inf(-1)
	for _, r := range rows {
		c := cells(r)
		v := parseRel(t, c[0])
		if v < last-1e-9 {
			t.Errorf("%s: event log out of order at %v", sc.ID, c)
		}
		last = v
		if !hasClass(r, "transition") {
			events = append(events, r)
		}
	}
	for i, e := range tl.Events {
		c := cells(events[i])
		if c[2] != string(e.Kind) || c[3] != e.Source || math.Abs(parseRel(t, c[0])-(e.At.Seconds()-zero)) > 0.0005 {
			t.Errorf("%s: event row %v, want %s %s at %v", sc.ID, c, e.Kind, e.Source, e.At.Seconds()-zero)
		}
	}
}

// parseRel reads back a time relative to the fault: "+1 min 05.5 s".
func parseRel(t *testing.T, s string) float64 {
	t.Helper()
	sign := 1.0
	switch {
	case strings.HasPrefix(s, "−"):
		sign, s = -1, strings.TrimPrefix(s, "−")
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if m, ok := strings.CutSuffix(s, " min"); ok {
		return sign * float(t, m) * 60
	}
	var v float64
	if m, rest, ok := strings.Cut(s, " min "); ok {
		v, s = float(t, m)*60, rest
	}
	return sign * (v + float(t, strings.TrimSuffix(s, " s")))
}

func checkEnvironment(t *testing.T, doc *html.Node, f *results.File) {
	t.Helper()
	env := map[string]string{}
	for _, tr := range findAll(doc, func(n *html.Node) bool {
		return n.Data == "tr" && n.Parent != nil && n.Parent.Parent != nil && hasClass(n.Parent.Parent, "env")
	}) {
		if c := cells(tr); len(c) == 2 {
			env[c[0]] = c[1]
		}
	}
	image := f.Run.NodeImage
	if image == "" {
		image = "not recorded"
	}
	for k, want := range map[string]string{
		"kdrill version": f.Run.KdrillVersion, "provider": f.Run.Provider,
		"Kubernetes version": f.Run.KubernetesVersion, "node image": image,
	} {
		if env[k] != want {
			t.Errorf("environment %s = %q, want %q", k, env[k], want)
		}
	}
	bounds := findAll(doc, func(n *html.Node) bool {
		return n.Data == "tr" && attr(n, "data-scenario") != "" && n.Parent.Parent != nil && hasClass(n.Parent.Parent, "bounds")
	})
	if len(bounds) != len(f.Scenarios) {
		t.Fatalf("%d rows of SLO bounds, want %d", len(bounds), len(f.Scenarios))
	}
	for i, sc := range f.Scenarios {
		c := cells(bounds[i])
		if b := sc.SLO.MaxRTOSeconds; b != nil && c[1] != "≤ "+num(*b, 3)+" s" {
			t.Errorf("%s: bound %q, want ≤ %v s", sc.ID, c[1], *b)
		}
		if b := sc.SLO.MinDataPlaneAvailability; b != nil && c[2] != "≥ "+num(*b*100, 3)+" %" {
			t.Errorf("%s: bound %q, want ≥ %v", sc.ID, c[2], *b)
		}
	}
}

// TestHTMLEscapes: details come from the cluster (error messages, attrs) and
// must not turn into markup.
func TestHTMLEscapes(t *testing.T) {
	doc, raw := render(t, failedFile())
	if s := findAll(doc, tag("script")); len(s) > 0 {
		t.Fatalf("a detail became a script element")
	}
	if findAll(doc, tag("i")) != nil {
		t.Error("an event attribute became an <i> element")
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;i&gt;kill -9&lt;/i&gt;", "&amp; more", "&lt;none&gt;"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

// TestHTMLFailedRun: the reasons and failing checks are on the page.
func TestHTMLFailedRun(t *testing.T) {
	f := failedFile()
	doc, _ := render(t, f)
	checks := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-check") != "" })
	failed := map[string]bool{}
	for _, c := range checks {
		if attr(c, "data-verdict") == "fail" {
			failed[attr(c, "data-check")] = true
		}
	}
	for _, want := range []string{slo.CheckRTO, slo.CheckAvailability, slo.CheckLostWrites} {
		if !failed[want] {
			t.Errorf("check %s not shown as failed; failed: %v", want, failed)
		}
	}
	reasons := findAll(doc, tag("tr", "reason-row"))
	if len(reasons) != 2 {
		t.Errorf("%d reason rows, want 2 (the failed and the errored scenario)", len(reasons))
	}
	if got := text(findAll(doc, tag("section", "scenario"))[1]); !strings.Contains(got, "No timeline") {
		t.Errorf("errored scenario section: %q", got)
	}
}

// gameDayOut, when set, keeps the game day's results file there, to time
// kdrill report on it (docs/benchmarks.md).
var gameDayOut = flag.String("gameday", "", "write the one-hour game day's results file to this path")

// TestGameDayBudget: a one-hour game day renders, from its file, within
// the targets of issue 5: 2 s and 2 MiB. BenchmarkGameDay measures it.
func TestGameDayBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if *gameDayOut != "" {
		path = *gameDayOut
	}
	if err := results.Write(path, gameDay(t)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	f := readFile(t, path)
	var buf bytes.Buffer
	if err := HTML(&buf, f, Options{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d samples, %d scenarios: %d bytes of HTML in %v", samples(f), len(f.Scenarios), buf.Len(), took)
	if buf.Len() > 2<<20 {
		t.Errorf("report is %d bytes, want at most 2 MiB", buf.Len())
	}
	if took > 2*time.Second {
		t.Errorf("read and render took %v, want at most 2 s", took)
	}
	// The flapping data plane was downsampled, the other lanes were not.
	doc, _ := html.Parse(&buf)
	var down int
	for _, l := range findAll(doc, tag("g", "lane")) {
		if attr(l, "data-mode") == "downsampled" {
			down++
			if attr(l, "data-prober") != "data-plane" {
				t.Errorf("lane %s downsampled", attr(l, "data-prober"))
			}
		}
	}
	if down != len(f.Scenarios) {
		t.Errorf("%d downsampled lanes, want the data plane of each scenario", down)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestHTMLNothingOnError(t *testing.T) {
	if err := HTML(errWriter{}, failedFile(), Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("HTML() to a failing writer = %v", err)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, nil, Options{}); err == nil || buf.Len() != 0 {
		t.Errorf("HTML(nil) = %v and wrote %d bytes", err, buf.Len())
	}
}
