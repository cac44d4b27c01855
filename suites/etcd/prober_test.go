package etcd_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/probe"
	"github.com/kdrill/kdrill/harness/probe/etcdprobe"
	"github.com/kdrill/kdrill/harness/timeline"
)

// runProbers runs probers under a probe.Runner until the returned stop is
// called (or the spec ends) and returns the history they record into. stop
// waits for the runner to return.
func runProbers(ctx context.Context, probers ...probe.Prober) (*probe.History, func()) {
	GinkgoHelper()
	h := &probe.History{}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		done <- (&probe.Runner{}).Run(ctx, h, probers...)
	}()
	var stopped bool
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		Expect(<-done).To(Succeed())
	}
	DeferCleanup(stop)
	return h, stop
}

// finishedBy counts the attempts in h that ended by t, and how many of them
// succeeded.
func finishedBy(h *probe.History, t time.Time) (n, ok int) {
	for _, a := range h.Attempts() {
		if a.Start.Add(a.Duration).Before(t) {
			n++
			if a.OK {
				ok++
			}
		}
	}
	return n, ok
}

var _ = Describe("etcd prober", Label("docker"), func() {
	const (
		interval = 200 * time.Millisecond
		timeout  = time.Second
		// slack covers the runner's and Docker's scheduling on a busy
		// machine.
		slack = 500 * time.Millisecond
	)

	It("reports a healthy member's revision, leader and database size, and fails from the moment the member stops", func(ctx SpecContext) {
		m := startMember(ctx, "probed", GinkgoT().TempDir())
		_, rev := putKeys(ctx, m.Client, "probed", 20)
		st, err := m.Client.Status(ctx, m.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		memberID := fmt.Sprintf("%x", st.Header.MemberId)

		p, err := etcdprobe.New(etcdprobe.Options{Endpoints: []string{m.Endpoint}, Interval: interval, Timeout: timeout})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(p.Close)
		// The first attempt also connects; make it here so that the
		// runner's attempts measure the member, not the dial.
		first := p.Probe(ctx)
		Expect(first.OK).To(BeTrue(), first.Detail)
		Expect(first.Attrs).To(HaveKeyWithValue("revision", strconv.FormatInt(rev, 10)))
		start := time.Now()
		h, stopProbing := runProbers(ctx, p)

		By("probing the healthy member")
		Eventually(func() int { _, ok := finishedBy(h, time.Now()); return ok }).
			WithTimeout(30 * time.Second).WithPolling(interval).Should(BeNumerically(">=", 10))

		By("stopping the member")
		stopping := time.Now()
		grace := 10 * time.Second
		Expect(m.Container.Stop(ctx, &grace)).To(Succeed())
		stopped := time.Now()
		GinkgoWriter.Printf("member stopped in %v\n", stopped.Sub(stopping))
		Eventually(func() int {
			n := 0
			for _, a := range h.Attempts() {
				if a.Start.After(stopped) {
					n++
				}
			}
			return n
		}).WithTimeout(30 * time.Second).WithPolling(interval).Should(BeNumerically(">=", 5))
		stopProbing()
		end := time.Now()

		as := h.Attempts()
		var healthy, skipped, down int
		for _, a := range as {
			switch {
			case a.Duration == 0 && !a.OK && a.Start.Before(stopping):
				// A tick while the previous attempt was still running: on
				// a busy machine an attempt can take longer than the
				// interval. The timeline's debounce absorbs a stray one,
				// which the single outage checked below proves.
				skipped++
			case a.Start.Add(a.Duration).Before(stopping):
				// Over before the stop began: the member was healthy and
				// nothing was written meanwhile.
				Expect(a.OK).To(BeTrue(), "attempt %d before the stop: %s", a.Seq, a.Detail)
				Expect(a.Attrs).To(HaveKeyWithValue("revision", strconv.FormatInt(rev, 10)))
				Expect(a.Attrs).To(HaveKeyWithValue("member", memberID))
				Expect(a.Attrs).To(HaveKeyWithValue("leader", memberID), "a single member leads itself")
				Expect(a.Attrs).To(HaveKey("db_size"))
				Expect(strconv.ParseInt(a.Attrs["db_size"], 10, 64)).To(BeNumerically(">", 0))
				Expect(a.Attrs).To(HaveKeyWithValue("raft_term", Not(Equal("0"))))
				healthy++
			case a.Start.After(stopped):
				Expect(a.OK).To(BeFalse(), "attempt %d after the stop", a.Seq)
				Expect(a.Detail).NotTo(BeEmpty())
				down++
			}
		}
		GinkgoWriter.Printf("%d attempts ok before the stop, %d skipped, %d failed after it\n", healthy, skipped, down)
		Expect(healthy).To(BeNumerically(">=", 10))
		Expect(down).To(BeNumerically(">=", 5))
		for _, a := range as {
			if !a.OK {
				GinkgoWriter.Printf("first failure, %v after the stop began: %s\n", a.Start.Sub(stopping), a.Detail)
				break
			}
		}

		By("locating the outage on the timeline")
		tl := timeline.Build(start, end, as, nil, timeline.Options{Debounce: 3})
		outs := tl.Outages(probe.Etcd)
		Expect(outs).To(HaveLen(1), "one outage, from the stop to the end")
		o := outs[0]
		Expect(o.Open).To(BeTrue(), "the member never came back")
		// An attempt that started just before the stop may be the first to
		// fail; the first attempt after the member is gone must.
		Expect(o.Start.Duration()).To(BeNumerically(">=", stopping.Sub(start)-timeout-slack))
		Expect(o.Start.Duration()).To(BeNumerically("<=", stopped.Sub(start)+interval+slack))
		Expect(tl.Track(probe.Etcd).Final).To(Equal(timeline.Down))
	})
})
