package probe

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var as []Attempt
	// 100 data-plane attempts: 1ms..100ms, every tenth failed.
	for i := 1; i <= 100; i++ {
		a := Attempt{Prober: DataPlane, Seq: uint64(i), Start: t0.Add(time.Duration(i) * 50 * time.Millisecond),
			Duration: time.Duration(i) * time.Millisecond, OK: i%10 != 0}
		if a.OK {
			a.Attrs = map[string]string{"pod": []string{"echo-a", "echo-b"}[i%2]}
		}
		as = append(as, a)
	}
	as = append(as, Attempt{Prober: APIRead, Seq: 1, Start: t0, Detail: "refused"})
	got := Summarize(as, Etcd)
	if len(got) != 3 {
		t.Fatalf("%d summaries, want 3: %+v", len(got), got)
	}
	read, dp, etcd := got[0], got[1], got[2]
	if read.Prober != APIRead || dp.Prober != DataPlane || etcd.Prober != Etcd {
		t.Fatalf("summaries not sorted by prober: %v %v %v", read.Prober, dp.Prober, etcd.Prober)
	}
	if dp.Attempts != 100 || dp.Successes != 90 || *dp.Ratio != 0.9 {
		t.Errorf("data plane: %d/%d ratio %v, want 90/100 0.9", dp.Successes, dp.Attempts, *dp.Ratio)
	}
	// Successes are 1..99ms without multiples of 10: 90 values; the 45th is
	// 49ms, the 90th (ceil(.99*90)=90) is 99ms.
	if *dp.LatencyP50 != 0.049 || *dp.LatencyP99 != 0.099 {
		t.Errorf("latency p50 %v p99 %v, want 0.049 0.099", *dp.LatencyP50, *dp.LatencyP99)
	}
	if dp.Responders["echo-a"] != 40 || dp.Responders["echo-b"] != 50 {
		t.Errorf("responders %v, want 40 even and 50 odd", dp.Responders)
	}
	if read.Ratio == nil || *read.Ratio != 0 || read.LatencyP50 != nil {
		t.Errorf("all-failed prober: ratio %v p50 %v, want 0 and nil", read.Ratio, read.LatencyP50)
	}
	if etcd.Attempts != 0 || etcd.Ratio != nil || etcd.LatencyP99 != nil {
		t.Errorf("prober without samples: %+v, want zero attempts and nil ratio", etcd)
	}
	if got := Summarize(nil); len(got) != 0 {
		t.Errorf("Summarize(nil) = %v", got)
	}
}

func TestPercentile(t *testing.T) {
	one := []time.Duration{7}
	if percentile(one, 0.5) != 7 || percentile(one, 0.99) != 7 {
		t.Error("percentile of one sample")
	}
	two := []time.Duration{1, 2}
	if percentile(two, 0.5) != 1 || percentile(two, 0.99) != 2 {
		t.Errorf("percentiles of two: %v %v", percentile(two, 0.5), percentile(two, 0.99))
	}
}

func TestHistorySortsByStart(t *testing.T) {
	h := &History{}
	h.Record(Attempt{Prober: "b", Seq: 2, Start: t0.Add(time.Second)})
	h.Record(Attempt{Prober: "b", Seq: 1, Start: t0})
	h.Record(Attempt{Prober: "a", Seq: 1, Start: t0})
	as := h.Attempts()
	if as[0].Prober != "a" || as[1].Seq != 1 || as[2].Seq != 2 {
		t.Errorf("order %+v", as)
	}
}
