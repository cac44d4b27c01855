package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoServerEnv, set in the environment of this test binary, makes it serve
// the workload's answer instead of running tests. The cost of the
// data-plane prober is measured against such a child process, so that the
// CPU and memory figures are the prober's own and not the server's.
const echoServerEnv = "KDRILL_PROBE_ECHO_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(echoServerEnv) != "" {
		if err := serveEcho(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveEcho answers GET / as cmd/kdrill-echo does on a loopback port, writes
// the port's address as the first line of out, and serves until in closes
// (the parent went away or is done).
func serveEcho(in io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("echo server: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(Answer{Pod: "echo-0", Node: "kdrill-worker", Zone: "zone-b",
			Time: time.Now().UTC().Format(time.RFC3339Nano)})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})}
	go func() { _ = srv.Serve(ln) }()
	if _, err := fmt.Fprintln(out, ln.Addr().String()); err != nil {
		return fmt.Errorf("echo server: %w", err)
	}
	_, _ = io.Copy(io.Discard, in)
	return srv.Close()
}

// echoChild is the echo server running in a child process.
type echoChild struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startEchoChild re-executes the test binary as an echo server.
func startEchoChild(tb testing.TB) *echoChild {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), echoServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start echo server: %v", err)
	}
	c := &echoChild{cmd: cmd, stdin: stdin}
	tb.Cleanup(func() { c.stop() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("read the echo server's address: %v", err)
	}
	c.URL = "http://" + strings.TrimSpace(addr)
	return c
}

// stop ends the child and returns the CPU time it used.
func (c *echoChild) stop() time.Duration {
	if c.cmd.ProcessState == nil {
		c.stdin.Close()
		_ = c.cmd.Wait()
	}
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}

// dataPlaneCost is what running the data-plane prober cost this process.
type dataPlaneCost struct {
	Wall      time.Duration
	Attempts  int
	Successes int
	// CPU is the user and system time of this process (the prober, its
	// runner and history, and the Go runtime) while the prober ran;
	// ServerCPU that of the echo server in its own process.
	CPU, ServerCPU time.Duration
	// Waited is how long this process's threads, together, were ready to
	// run but waited for a CPU: what other work on the machine cost the
	// prober. Go's tickers drop the ticks their reader is late for, so a
	// prober that waits misses attempts.
	Waited time.Duration
	// PeakRSS is the process's peak resident set, in bytes, over its whole
	// life; BaseRSS its resident set just before the prober started.
	PeakRSS, BaseRSS int64
	P50, P99         time.Duration
}

// Cores is the CPU used per second of wall time.
func (c dataPlaneCost) Cores() float64 { return c.CPU.Seconds() / c.Wall.Seconds() }

// Rate is the successful requests per second of wall time.
func (c dataPlaneCost) Rate() float64 { return float64(c.Successes) / c.Wall.Seconds() }

func (c dataPlaneCost) String() string {
	return fmt.Sprintf("%d of %d attempts ok in %v (%.1f/s); prober process %.3f cores (%v CPU, %v waiting for a CPU), peak RSS %.1f MiB (%.1f MiB before); server %.3f cores; latency p50 %v p99 %v",
		c.Successes, c.Attempts, c.Wall.Round(time.Millisecond), c.Rate(), c.Cores(), c.CPU.Round(time.Millisecond),
		c.Waited.Round(time.Millisecond), mib(c.PeakRSS), mib(c.BaseRSS), c.ServerCPU.Seconds()/c.Wall.Seconds(), c.P50, c.P99)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// measureDataPlane runs the data-plane prober at rate under a Runner for d
// against an echo server in a child process, and returns what it cost.
func measureDataPlane(tb testing.TB, rate float64, d time.Duration) dataPlaneCost {
	tb.Helper()
	srv := startEchoChild(tb)
	p, err := NewDataPlane(srv.URL, DataPlaneOptions{Rate: rate})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()

	var c dataPlaneCost
	c.BaseRSS = procStatus(tb, "VmRSS")
	h := &History{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cpu0, wait0 := processCPU(tb), runqueueWait(tb)
	start := time.Now()
	if err := (&Runner{}).Run(ctx, h, p); err != nil {
		tb.Fatal(err)
	}
	c.Wall = time.Since(start)
	c.CPU = processCPU(tb) - cpu0
	c.Waited = max(0, runqueueWait(tb)-wait0)
	c.ServerCPU = srv.stop()

	c.PeakRSS = procStatus(tb, "VmHWM")

	s := Summarize(h.Attempts())
	if len(s) != 1 {
		tb.Fatalf("summaries %+v, want the data-plane prober's", s)
	}
	c.Attempts, c.Successes = s[0].Attempts, s[0].Successes
	if s[0].LatencyP50 != nil {
		c.P50 = time.Duration(*s[0].LatencyP50 * float64(time.Second)).Round(time.Microsecond)
		c.P99 = time.Duration(*s[0].LatencyP99 * float64(time.Second)).Round(time.Microsecond)
	}
	for _, a := range h.Attempts() {
		if !a.OK {
			tb.Errorf("attempt %d failed: %s", a.Seq, a.Detail)
			break
		}
	}
	return c
}

// processCPU is the user and system time this process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runqueueWait sums, over this process's threads, the time they spent ready
// to run but waiting for a CPU (the second field of schedstat). Threads that
// ended take their share with them; Go's threads seldom end.
func runqueueWait(tb testing.TB) time.Duration {
	tb.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil {
		tb.Fatal(err)
	}
	var sum time.Duration
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		var run, wait int64
		if _, err := fmt.Sscan(string(b), &run, &wait); err != nil {
			tb.Fatalf("parse %s %q: %v", f, b, err)
		}
		sum += time.Duration(wait)
	}
	return sum
}

// procStatus returns a memory figure of this process from /proc/self/status,
// in bytes: VmRSS is the resident set now, VmHWM its peak. (getrusage's
// ru_maxrss is no good here: a process started by fork and exec keeps the
// peak of the parent's memory from before the exec, so a test binary
// started by go test reports the go command's peak.)
func procStatus(tb testing.TB, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err != nil {
				tb.Fatalf("parse %s %q: %v", field, v, err)
			}
			return kib << 10
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// Budget of the data-plane prober at 500 requests per second (issue 3).
const (
	costRate     = 500
	costMaxCores = 0.5
	costMaxRSS   = 100 << 20
)

// TestMeasureDataPlane runs the cost measurement at 500/s for one second so
// that it keeps working; the figures in docs/benchmarks.md come from
// BenchmarkDataPlane500 run for 60 s. The rate is checked only roughly and
// the CPU not at all: one second on a machine busy with the rest of
// go test ./... (or under the race detector) says little about either.
func TestMeasureDataPlane(t *testing.T) {
	c := measureDataPlane(t, costRate, time.Second)
	t.Log(c)
	// The runner starts an attempt at once and then every 2 ms; a machine
	// busy with the rest of go test ./... drops ticks, so this only checks
	// the prober keeps up roughly. The benchmark checks the rate itself.
	if want := costRate / 2; c.Successes < want {
		t.Errorf("%d successful attempts in 1s, want at least %d", c.Successes, want)
	}
	if c.PeakRSS > costMaxRSS {
		t.Errorf("peak RSS %.1f MiB, want at most %.0f MiB", mib(c.PeakRSS), mib(costMaxRSS))
	}
}

// BenchmarkDataPlane500 runs the data-plane prober at 500 requests per second
// for b.N requests, against the echo server in a child process, and reports
// what the prober's process used: -benchtime 30000x is the 60 s of the
// target (≤ 0.5 core, ≤ 100 MiB RSS), which it checks from 10 s on.
//
//	go test -run '^$' -bench DataPlane500 -benchtime 30000x -count 1 ./harness/probe/
func BenchmarkDataPlane500(b *testing.B) {
	d := time.Duration(b.N) * time.Second / costRate
	c := measureDataPlane(b, costRate, d)
	b.Log(c)
	b.ReportMetric(c.Rate(), "req/s")
	b.ReportMetric(c.Cores(), "cores")
	b.ReportMetric(mib(c.PeakRSS), "peak-RSS-MiB")
	b.ReportMetric(c.ServerCPU.Seconds()/c.Wall.Seconds(), "server-cores")
	b.ReportMetric(float64(c.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(c.Waited.Seconds()/c.Wall.Seconds(), "runqueue-wait-s/s")
	if d < 10*time.Second {
		return
	}
	// Go's tickers drop ticks their reader is late for, and a machine busy
	// with other work makes the runner late now and then: allow 2% of
	// ticks for that. Every attempt made must succeed (measureDataPlane).
	if c.Rate() < 0.98*costRate {
		b.Errorf("sustained %.1f requests/s, want %d; the process waited %v for a CPU in %v",
			c.Rate(), costRate, c.Waited.Round(time.Millisecond), c.Wall.Round(time.Second))
	}
	if c.Cores() > costMaxCores {
		b.Errorf("used %.3f cores, want at most %.1f", c.Cores(), costMaxCores)
	}
	if c.PeakRSS > costMaxRSS {
		b.Errorf("peak RSS %.1f MiB, want at most %.0f MiB", mib(c.PeakRSS), mib(costMaxRSS))
	}
}
