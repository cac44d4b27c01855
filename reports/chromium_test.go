package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/harness/slo"
)

// screenshot, when set, makes TestChromium also save a screenshot of the
// report of the real drill with a latency series there
// (docs/report-screenshot.png is made this way; see docs/reports.md).
var screenshot = flag.String("screenshot", "", "save a PNG screenshot of the real drill's report to this file")

// screenshotOf names the TestChromium case whose report -screenshot saves.
const screenshotOf = "real drill with a latency series"

// chromiumBinary finds Debian's chromium (scripts/chromium.sh installs
// it). Without one the test skips, except in CI (CI=true), where a report
// never rendered in a browser is a failure.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome"}
	if env := os.Getenv("KDRILL_CHROMIUM"); env != "" {
		names = []string{env}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no chromium (looked for %s) and CI=true: run scripts/chromium.sh (make unit does) to install it", strings.Join(names, ", "))
	}
	t.Skipf("no chromium (looked for %s); scripts/chromium.sh installs it. Under CI=true this fails", strings.Join(names, ", "))
	return ""
}

// TestChromium renders reports in headless Chromium and checks, through
// the DevTools protocol, that the page loads with no failed or outside
// request and no console error, and that the charts are drawn: every lane
// of every timeline has a size on screen and the bands have the colours of
// the inline stylesheet.
func TestChromium(t *testing.T) {
	bin := chromiumBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := startBrowser(ctx, t, bin)

	t.Run("detects a failed request", func(t *testing.T) {
		// The check itself must work: a page that loads a stylesheet from
		// a closed port has to be caught.
		path := filepath.Join(t.TempDir(), "bad.html")
		page := `<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>x</body></html>`
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		l := b.load(ctx, t, path)
		if len(l.failed) == 0 || len(l.outside) == 0 {
			t.Errorf("a page with an unreachable stylesheet loaded clean: %+v", l)
		}
	})

	files := []struct {
		name string
		f    func(t *testing.T) *results.File
	}{
		{"real kind drill", func(t *testing.T) *results.File { return readFile(t, realDrill) }},
		{"real apiserver-crash drill", func(t *testing.T) *results.File { return readFile(t, realAPIServer) }},
		{screenshotOf, func(t *testing.T) *results.File { return readFile(t, realLatency) }},
		{"failed run", func(*testing.T) *results.File { return failedFile() }},
		{"game day", func(t *testing.T) *results.File { return gameDay(t) }},
	}
	for _, tt := range files {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f(t)
			path := filepath.Join(t.TempDir(), "report.html")
			if err := Write(Paths{HTML: path}, f, Options{Source: "results.json"}); err != nil {
				t.Fatal(err)
			}
			l := b.load(ctx, t, path)
			if len(l.requests) != 1 || len(l.failed) > 0 || len(l.outside) > 0 || len(l.errors) > 0 {
				t.Errorf("requests %v, failed %v, outside the page %v, console errors %v; want the page alone, loaded clean",
					l.requests, l.failed, l.outside, l.errors)
			}
			var drawn struct {
				Rows   int
				Charts []struct {
					Scenario string
					Width    float64
					Lanes    []struct {
						Prober string
						W, H   float64
					}
					Down    []string // computed fills of the down bands
					Up      int
					Markers int
					Latency *struct {
						Mode    string
						Line    float64 // width of the p50 line on screen
						Stroke  string  // its computed colour
						Buckets int     // hit areas with a size on screen
						Failed  string  // computed fill of the failure bars, if any
					}
				}
			}
			b.eval(ctx, t, l.session, drawnJS, &drawn)
			if drawn.Rows != len(f.Scenarios) {
				t.Errorf("summary shows %d rows, want %d", drawn.Rows, len(f.Scenarios))
			}
			var charts int
			for _, sc := range f.Scenarios {
				if sc.Timeline == nil {
					continue
				}
				if charts >= len(drawn.Charts) {
					t.Fatalf("only %d charts drawn", len(drawn.Charts))
				}
				c := drawn.Charts[charts]
				charts++
				if c.Scenario != sc.ID || c.Width < 600 {
					t.Errorf("chart %s is %v px wide, want %s at least 600", c.Scenario, c.Width, sc.ID)
				}
				if len(c.Lanes) != len(sc.Timeline.Probers) {
					t.Errorf("%s: %d lanes drawn, want %d", sc.ID, len(c.Lanes), len(sc.Timeline.Probers))
				}
				for _, lane := range c.Lanes {
					// The lane's box spans its label and its bands.
					if lane.W < 600 || lane.H < 10 {
						t.Errorf("%s: lane %s drawn %vx%v px", sc.ID, lane.Prober, lane.W, lane.H)
					}
				}
				if c.Up == 0 || c.Markers == 0 {
					t.Errorf("%s: %d up bands and %d markers drawn", sc.ID, c.Up, c.Markers)
				}
				checkLatencyDrawn(t, &sc, c.Latency)
				for _, fill := range c.Down {
					if fill != "rgb(211, 58, 47)" {
						t.Errorf("%s: a down band is filled %s, not the stylesheet's red", sc.ID, fill)
						break
					}
				}
			}
			if charts != len(drawn.Charts) {
				t.Errorf("%d charts drawn, want %d", len(drawn.Charts), charts)
			}
			if tt.name == screenshotOf && *screenshot != "" {
				b.screenshot(ctx, t, l.session, f, *screenshot)
			}
		})
	}
}

// drawnJS reports what the browser laid out.
const drawnJS = `JSON.stringify({
  rows: document.querySelectorAll("table.summary tr.scenario-row").length,
  charts: [...document.querySelectorAll("svg.timeline")].map(svg => ({
    scenario: svg.closest("section").dataset.scenario,
    width: svg.getBoundingClientRect().width,
    lanes: [...svg.querySelectorAll("g.lane")].map(g => {
      const r = g.getBoundingClientRect();
      return {prober: g.dataset.prober, w: r.width, h: r.height};
    }),
    down: [...svg.querySelectorAll(".band.down")].map(e => getComputedStyle(e).fill),
    up: [...svg.querySelectorAll(".band.up")].filter(e => e.getBoundingClientRect().width > 0).length,
    markers: svg.querySelectorAll("g.marker").length,
    latency: (g => g && {
      mode: g.dataset.mode,
      line: (e => e ? e.getBoundingClientRect().width : 0)(g.querySelector(".latency-line")),
      stroke: (e => e ? getComputedStyle(e).stroke : "")(g.querySelector(".latency-line")),
      buckets: [...g.querySelectorAll(".latency-bucket")].filter(e => e.getBoundingClientRect().width > 0).length,
      failed: (e => e ? getComputedStyle(e).fill : "")(g.querySelector(".latency-failed")),
    })(svg.querySelector("g.latency")),
  })),
})`

// checkLatencyDrawn checks the latency panel the browser laid out against
// what the results file holds: a curve across the chart with one hover
// area per bucket, in the stylesheet's colours, when it has a series.
func checkLatencyDrawn(t *testing.T, sc *results.Scenario, got *struct {
	Mode    string
	Line    float64
	Stroke  string
	Buckets int
	Failed  string
}) {
	t.Helper()
	p := latencyPanelOf(sc)
	switch {
	case p.mode == panelNone && got == nil:
		return
	case p.mode == panelNone || got == nil || got.Mode != p.mode:
		t.Errorf("%s: latency panel drawn %+v, want mode %q", sc.ID, got, p.mode)
		return
	case p.mode != panelSeries:
		return
	}
	var failures bool
	for _, b := range p.track.Latency {
		failures = failures || b.Failures > 0
	}
	if got.Buckets != len(p.track.Latency) {
		t.Errorf("%s: %d latency buckets drawn, the file has %d", sc.ID, got.Buckets, len(p.track.Latency))
	}
	if got.Line < 300 || got.Stroke != "rgb(37, 99, 184)" {
		t.Errorf("%s: the p50 line is %v px wide in %s, want most of the chart in the stylesheet's blue", sc.ID, got.Line, got.Stroke)
	}
	if failures && got.Failed != "rgb(211, 58, 47)" {
		t.Errorf("%s: failed requests drawn in %q, want the stylesheet's red", sc.ID, got.Failed)
	}
}

// browser is a headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: commands on fd 3, replies on fd 4, each
// message ending in a NUL byte), so no port is opened.
type browser struct {
	w      io.Writer
	mu     sync.Mutex
	next   int
	calls  map[int]chan cdpMessage
	events []cdpMessage
	notify chan struct{}
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startBrowser(ctx context.Context, t *testing.T, bin string) *browser {
	t.Helper()
	toChrome, ours, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, theirs, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--disable-quic", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, theirs} // fds 3 and 4
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	toChrome.Close()
	theirs.Close()
	b := &browser{w: ours, calls: map[int]chan cdpMessage{}, notify: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		// Ends when Chromium exits and its end of the pipe closes.
		defer close(done)
		r := bufio.NewReader(fromChrome)
		for {
			raw, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m cdpMessage
			if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
				continue
			}
			b.mu.Lock()
			if ch, ok := b.calls[m.ID]; ok && m.ID != 0 {
				delete(b.calls, m.ID)
				ch <- m
			} else if m.Method != "" {
				b.events = append(b.events, m)
			}
			b.mu.Unlock()
			select {
			case b.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.call(cctx, "", "Browser.close", nil, nil)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		ours.Close()
		<-done
		fromChrome.Close()
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", stderr.String())
		}
	})
	// A first call proves the browser answers.
	var v struct{ Product string }
	if err := b.call(ctx, "", "Browser.getVersion", nil, &v); err != nil {
		t.Fatalf("chromium does not answer on its DevTools pipe: %v\n%s", err, stderr.String())
	}
	t.Logf("browser: %s", v.Product)
	return b
}

// call sends a command (to session, or to the browser if "") and decodes
// its result into result.
func (b *browser) call(ctx context.Context, session, method string, params, result any) error {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpMessage, 1)
	b.calls[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// waitEvent waits for an event of session with the method and returns it.
func (b *browser) waitEvent(ctx context.Context, session, method string) (cdpMessage, error) {
	for {
		b.mu.Lock()
		for _, e := range b.events {
			if e.SessionID == session && e.Method == method {
				b.mu.Unlock()
				return e, nil
			}
		}
		b.mu.Unlock()
		select {
		case <-b.notify:
		case <-ctx.Done():
			return cdpMessage{}, fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// loaded is what happened while a page loaded.
type loaded struct {
	session  string
	requests []string // URLs requested
	outside  []string // requested URLs other than the page and data: URLs
	failed   []string // requests that failed or were blocked, with why
	errors   []string // console errors and uncaught exceptions
}

// load opens path in a new tab and waits for its load event.
func (b *browser) load(ctx context.Context, t *testing.T, path string) loaded {
	t.Helper()
	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	s := att.SessionID
	for _, m := range []string{"Page.enable", "Network.enable", "Runtime.enable", "Log.enable"} {
		if err := b.call(ctx, s, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	url := "file://" + path
	var nav struct{ ErrorText string }
	if err := b.call(ctx, s, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		t.Fatal(err)
	}
	if nav.ErrorText != "" {
		t.Fatalf("navigate to %s: %s", url, nav.ErrorText)
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := b.waitEvent(lctx, s, "Page.loadEventFired"); err != nil {
		t.Fatal(err)
	}
	l := loaded{session: s}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.events {
		if e.SessionID != s {
			continue
		}
		var p struct {
			Request                  struct{ URL string }
			ErrorText, BlockedReason string
			Entry                    struct{ Level, Text, URL string }
			ExceptionDetails         struct {
				Text      string
				Exception struct{ Description string }
			}
			Type string
			Args []struct{ Value any }
		}
		_ = json.Unmarshal(e.Params, &p)
		switch e.Method {
		case "Network.requestWillBeSent":
			l.requests = append(l.requests, p.Request.URL)
			if p.Request.URL != url && !strings.HasPrefix(p.Request.URL, "data:") {
				l.outside = append(l.outside, p.Request.URL)
			}
		case "Network.loadingFailed":
			l.failed = append(l.failed, strings.TrimSpace(p.ErrorText+" "+p.BlockedReason))
		case "Log.entryAdded":
			if p.Entry.Level == "error" {
				l.errors = append(l.errors, p.Entry.Text+" "+p.Entry.URL)
			}
		case "Runtime.exceptionThrown":
			l.errors = append(l.errors, p.ExceptionDetails.Text+" "+p.ExceptionDetails.Exception.Description)
		case "Runtime.consoleAPICalled":
			if p.Type == "error" {
				l.errors = append(l.errors, fmt.Sprint(p.Args))
			}
		}
	}
	return l
}

// eval evaluates a JavaScript expression that returns a JSON string and
// decodes it into v.
func (b *browser) eval(ctx context.Context, t *testing.T, session, expr string, v any) {
	t.Helper()
	var r struct {
		Result struct {
			Value string
		}
		ExceptionDetails *struct{ Text string }
	}
	if err := b.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("evaluate: %s", r.ExceptionDetails.Text)
	}
	if err := json.Unmarshal([]byte(r.Result.Value), v); err != nil {
		t.Fatalf("evaluate: %v in %q", err, r.Result.Value)
	}
}

// screenshot saves the top of the report (title and summary) above the
// section of its most eventful scenario down to the end of that
// scenario's chart, with a gap between them, as one PNG.
func (b *browser) screenshot(ctx context.Context, t *testing.T, session string, f *results.File, path string) {
	t.Helper()
	id := ""
	var longest float64 = -1
	for _, sc := range f.Scenarios {
		if sc.Timeline == nil {
			continue
		}
		if sc.Verdict != slo.Pass {
			id = sc.ID
			break
		}
		if sc.RTOSeconds != nil && *sc.RTOSeconds > longest {
			id, longest = sc.ID, *sc.RTOSeconds
		}
	}
	var clips struct {
		Top   [4]float64
		Chart [4]float64
	}
	b.eval(ctx, t, session, fmt.Sprintf(`(() => {
  const box = (from, to) => { const a = from.getBoundingClientRect(), z = to.getBoundingClientRect();
    return [0, a.top + scrollY, document.documentElement.clientWidth, z.bottom - a.top]; };
  const sec = document.getElementById(%q);
  return JSON.stringify({top: box(document.querySelector("header"), document.getElementById("summary")),
    chart: box(sec, sec.querySelector("figure.chart"))});
})()`, "s-"+id), &clips)
	shot := func(c [4]float64) image.Image {
		var r struct{ Data string }
		if err := b.call(ctx, session, "Page.captureScreenshot", map[string]any{
			"format": "png", "captureBeyondViewport": true,
			"clip": map[string]any{"x": c[0], "y": c[1] - 8, "width": c[2], "height": c[3] + 16, "scale": 1},
		}, &r); err != nil {
			t.Fatal(err)
		}
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	top, chart := shot(clips.Top), shot(clips.Chart)
	const gap = 14
	w := max(top.Bounds().Dx(), chart.Bounds().Dx())
	out := image.NewRGBA(image.Rect(0, 0, w, top.Bounds().Dy()+gap+chart.Bounds().Dy()))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, top.Bounds(), top, top.Bounds().Min, draw.Src)
	// A dashed rule marks the part of the page left out.
	for x := 0; x < w; x += 8 {
		for dx := 0; dx < 4 && x+dx < w; dx++ {
			out.Set(x+dx, top.Bounds().Dy()+gap/2, color.Gray{Y: 0xa0})
		}
	}
	draw.Draw(out, chart.Bounds().Add(image.Pt(0, top.Bounds().Dy()+gap)), chart, chart.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the summary and %s: %s, %dx%d, %d bytes", id, path, out.Bounds().Dx(), out.Bounds().Dy(), buf.Len())
}
