package etcd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kdrill/kdrill/harness/etcdsnap"
	"github.com/kdrill/kdrill/harness/ledger"
)

// ledgerPrefix holds the sequenced writes; the key of write n is
// ledgerPrefix + n in eight digits, its value n.
const ledgerPrefix = "/ledger/"

// sequencedWriter puts one sequenced key after another into etcd, as the
// write prober does to the API, and records every write it issues in a
// ledger: with its revision when etcd acknowledged it, with the error when
// not.
type sequencedWriter struct {
	cli     *clientv3.Client
	ledger  *ledger.Ledger
	acked   atomic.Int64
	unacked atomic.Int64
}

// run writes until ctx ends, one write every pace. Each write gets timeout
// to be acknowledged, so writes to a stopped member fail quickly.
func (w *sequencedWriter) run(ctx context.Context, pace, timeout time.Duration) {
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		name := fmt.Sprintf("%s%08d", ledgerPrefix, seq)
		wctx, cancel := context.WithTimeout(ctx, timeout)
		rec := ledger.Write{Seq: seq, Name: name, Start: time.Now()}
		resp, err := w.cli.Put(wctx, name, strconv.FormatUint(seq, 10))
		cancel()
		if err != nil {
			rec.Err = err.Error()
			w.unacked.Add(1)
		} else {
			rec.Acked = time.Now()
			rec.ResourceVersion = strconv.FormatInt(resp.Header.Revision, 10)
			w.acked.Add(1)
		}
		w.ledger.Record(rec)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// readBack lists the sequenced keys as the ledger's observations, checking
// each value is its key's sequence number.
func readBack(ctx context.Context, cli *clientv3.Client) []ledger.Observed {
	GinkgoHelper()
	resp, err := cli.Get(ctx, ledgerPrefix, clientv3.WithPrefix())
	Expect(err).NotTo(HaveOccurred())
	var out []ledger.Observed
	for _, kv := range resp.Kvs {
		seq, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), ledgerPrefix), 10, 64)
		Expect(err).NotTo(HaveOccurred(), "key %s", kv.Key)
		Expect(string(kv.Value)).To(Equal(strconv.FormatUint(seq, 10)), "value of %s", kv.Key)
		out = append(out, ledger.Observed{Seq: seq, ResourceVersion: strconv.FormatInt(kv.ModRevision, 10)})
	}
	return out
}

var _ = Describe("etcd backup and restore against the ledger", Label("docker"), func() {
	const (
		// writes to have acknowledged before the snapshot, and after it
		// before the member is lost
		beforeSnap = 100
		afterSnap  = 100
		pace       = 10 * time.Millisecond
		// timeout is long enough that a healthy member acknowledges every
		// write even on a busy machine; a write it does not acknowledge in
		// time is indeterminate, which the checks below allow for.
		timeout = 2 * time.Second
	)

	It("brings back every write acknowledged before the snapshot, and the ledger reports exactly the writes after it as lost", func(ctx SpecContext) {
		dataDir := filepath.Join(GinkgoT().TempDir(), "source")
		Expect(os.Mkdir(dataDir, 0o700)).To(Succeed())
		src := startMember(ctx, "source", dataDir)

		By("writing sequenced keys")
		w := &sequencedWriter{cli: src.Client, ledger: &ledger.Ledger{}}
		wctx, stopWriting := context.WithCancel(ctx)
		written := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(written)
			w.run(wctx, pace, timeout)
		}()
		DeferCleanup(func() { stopWriting(); <-written })
		Eventually(w.acked.Load).WithTimeout(time.Minute).Should(BeNumerically(">=", beforeSnap))

		By("saving a snapshot while the writes go on")
		path := filepath.Join(GinkgoT().TempDir(), "snapshot.db")
		saved, err := etcdsnap.Save(ctx, src.Client, path)
		Expect(err).NotTo(HaveOccurred())
		savedBy := time.Now()
		ackedAtSave := w.acked.Load()
		GinkgoWriter.Printf("snapshot at revision %d with %d keys, %d writes acknowledged by then\n", saved.Revision, saved.TotalKeys, ackedAtSave)
		Eventually(w.acked.Load).WithTimeout(time.Minute).Should(BeNumerically(">=", ackedAtSave+afterSnap))

		By("losing the member and its data while the writes go on")
		grace := 10 * time.Second
		Expect(src.Container.Stop(ctx, &grace)).To(Succeed())
		unackedAtStop := w.unacked.Load()
		Eventually(w.unacked.Load).WithTimeout(time.Minute).Should(BeNumerically(">=", unackedAtStop+2),
			"writes to the stopped member fail")
		stopWriting()
		<-written
		Expect(os.RemoveAll(dataDir)).To(Succeed())

		By("restoring the snapshot and starting the member on it")
		restored, err := etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{DataDir: dataDir, Name: "source", PeerURLs: []string{peerURL}})
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Revision).To(Equal(saved.Revision))
		dst := startMember(ctx, "source", dataDir)

		By("verifying the ledger against what the restored member holds")
		writes := w.ledger.Writes()
		observed := readBack(ctx, dst.Client)
		r := ledger.Verify(writes, observed)
		GinkgoWriter.Printf("ledger: %d acknowledged (%d present, %d lost over %v), %d unacknowledged (%d present), %d unexpected\n",
			r.Acknowledged, r.Present, r.Lost, r.Window, r.Unacknowledged, r.UnacknowledgedPresent, r.Unexpected)

		// The truth, from the revisions etcd acknowledged: a write is in the
		// snapshot exactly when its revision is not above the snapshot's.
		var inSnapshot, afterSnapshot []uint64
		rvOf := map[uint64]string{}
		for _, wr := range writes {
			if !wr.Acknowledged() {
				continue
			}
			rev, err := strconv.ParseInt(wr.ResourceVersion, 10, 64)
			Expect(err).NotTo(HaveOccurred())
			rvOf[wr.Seq] = wr.ResourceVersion
			if rev <= saved.Revision {
				inSnapshot = append(inSnapshot, wr.Seq)
			} else {
				afterSnapshot = append(afterSnapshot, wr.Seq)
			}
			// The snapshot was taken between the start of Save and its
			// end, so these writes fall on one side of it whatever the
			// revisions say.
			if wr.Acked.Before(saved.TakenAt) {
				Expect(rev).To(BeNumerically("<=", saved.Revision), "write %d was acknowledged before the snapshot was asked for", wr.Seq)
			}
			if wr.Start.After(savedBy) {
				Expect(rev).To(BeNumerically(">", saved.Revision), "write %d was issued after the snapshot was saved", wr.Seq)
			}
		}
		Expect(len(inSnapshot)).To(BeNumerically(">=", beforeSnap))
		Expect(len(afterSnapshot)).To(BeNumerically(">=", afterSnap))
		Expect(saved.TotalKeys).To(Equal(len(observed)), "the snapshot holds the sequenced keys and nothing else")

		started := map[uint64]time.Time{}
		for _, wr := range writes {
			started[wr.Seq] = wr.Start
		}
		var present []uint64 // the acknowledged writes read back
		for _, o := range observed {
			rv, acked := rvOf[o.Seq]
			if !acked {
				// Applied but not acknowledged in time: it proves nothing,
				// but it cannot come from after the snapshot either.
				Expect(started[o.Seq]).To(BeTemporally("<", savedBy), "unacknowledged write %d read back", o.Seq)
				continue
			}
			present = append(present, o.Seq)
			Expect(o.ResourceVersion).To(Equal(rv), "write %d keeps the revision etcd acknowledged", o.Seq)
		}
		slices.Sort(present)
		Expect(present).To(Equal(inSnapshot), "every acknowledged write from before the snapshot is back, and none after it")

		var lost []uint64
		for _, wr := range r.LostWrites {
			lost = append(lost, wr.Seq)
		}
		Expect(lost).To(Equal(afterSnapshot), "the ledger reports exactly the acknowledged writes after the snapshot as lost")
		Expect(r.Present).To(Equal(len(inSnapshot)))
		Expect(r.Acknowledged).To(Equal(len(inSnapshot) + len(afterSnapshot)))
		Expect(r.LostBefore(saved.TakenAt)).To(BeZero(), "nothing acknowledged before the snapshot is lost")
		Expect(r.Unacknowledged).To(BeNumerically(">=", 2), "the writes to the stopped member")
		Expect(r.Unexpected).To(BeZero())
		// The window runs from the issue of the first lost write, which may
		// have been in flight when the snapshot was asked for, to the
		// acknowledgement of the last.
		Expect(r.Window).To(BeNumerically(">", 0))
		Expect(r.Window).To(BeNumerically("<=", time.Since(saved.TakenAt)+timeout))

		resp, err := dst.Client.Get(ctx, ledgerPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Header.Revision).To(Equal(saved.Revision), "the restored member is at the snapshot's revision")
	})
})
