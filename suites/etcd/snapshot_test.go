package etcd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kdrill/kdrill/harness/etcdsnap"
)

const (
	before = 100 // keys written before the snapshot
	after  = 40  // keys written after it
	prefix = "/drill/"
)

// putKeys writes n keys /drill/<stage>/<i> = <stage>-<i> and returns them
// with the store's revision after the last write.
func putKeys(ctx context.Context, cli *clientv3.Client, stage string, n int) (map[string]string, int64) {
	GinkgoHelper()
	kv := map[string]string{}
	var rev int64
	for i := range n {
		k, v := fmt.Sprintf("%s%s/%03d", prefix, stage, i), fmt.Sprintf("%s-%d", stage, i)
		resp, err := cli.Put(ctx, k, v)
		Expect(err).NotTo(HaveOccurred(), "put %s", k)
		kv[k], rev = v, resp.Header.Revision
	}
	return kv, rev
}

// readKeys returns every key under /drill/ with its value.
func readKeys(ctx context.Context, cli *clientv3.Client) map[string]string {
	GinkgoHelper()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	Expect(err).NotTo(HaveOccurred())
	kv := map[string]string{}
	for _, e := range resp.Kvs {
		kv[string(e.Key)] = string(e.Value)
	}
	return kv
}

var _ = Describe("etcd snapshots", Label("docker"), func() {
	var (
		src     member
		dir     string            // where snapshots and restores go
		written map[string]string // keys written before the snapshot
		lastRev int64             // the revision of the last of them
	)

	BeforeEach(func(ctx SpecContext) {
		dir = GinkgoT().TempDir()
		src = startMember(ctx, "source", GinkgoT().TempDir())
		written, lastRev = putKeys(ctx, src.Client, "before", before)
	})

	It("saves a snapshot whose revision, key count and hashes Inspect and the member confirm", func(ctx SpecContext) {
		path := filepath.Join(dir, "snapshot.db")
		saved, err := etcdsnap.Save(ctx, src.Client, path)
		Expect(err).NotTo(HaveOccurred())
		Expect(saved.Revision).To(Equal(lastRev))
		Expect(saved.TotalKeys).To(Equal(before))
		Expect(saved.TakenAt).NotTo(BeZero())
		Expect(saved.MemberID).NotTo(BeEmpty())

		hk, err := src.Client.HashKV(ctx, src.Endpoint, lastRev)
		Expect(err).NotTo(HaveOccurred())
		Expect(saved.KVHash).To(Equal(hk.Hash), "Save records the member's HashKV at the snapshot's revision")

		inspected, err := etcdsnap.Inspect(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(inspected.Revision).To(Equal(saved.Revision))
		Expect(inspected.TotalKeys).To(Equal(saved.TotalKeys))
		Expect(inspected.Hash).To(Equal(saved.Hash))
		Expect(inspected.SHA256).To(Equal(saved.SHA256))
		fi, err := os.Stat(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(inspected.Size).To(Equal(fi.Size()))
		Expect(saved.Size).To(Equal(fi.Size()))

		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1), "only the snapshot is left, no temporary file")
	})

	It("restores exactly the keys written before the snapshot into a member that starts from them", func(ctx SpecContext) {
		path := filepath.Join(dir, "snapshot.db")
		saved, err := etcdsnap.Save(ctx, src.Client, path)
		Expect(err).NotTo(HaveOccurred())

		By("changing the source after the snapshot")
		later, _ := putKeys(ctx, src.Client, "after", after)
		_, err = src.Client.Put(ctx, prefix+"before/000", "overwritten")
		Expect(err).NotTo(HaveOccurred())
		_, err = src.Client.Delete(ctx, prefix+"before/001")
		Expect(err).NotTo(HaveOccurred())

		By("restoring into a fresh data directory")
		dataDir := filepath.Join(dir, "restored")
		restored, err := etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{
			DataDir:  dataDir,
			Name:     "restored",
			PeerURLs: []string{peerURL},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Revision).To(Equal(saved.Revision))
		Expect(restored.TotalKeys).To(Equal(before))

		By("starting a second member on the restored data directory")
		dst := startMember(ctx, "restored", dataDir)
		got := readKeys(ctx, dst.Client)
		Expect(got).To(Equal(written), "exactly the keys from before the snapshot, with their values then")
		for k := range later {
			Expect(got).NotTo(HaveKey(k))
		}

		hk, err := dst.Client.HashKV(ctx, dst.Endpoint, saved.Revision)
		Expect(err).NotTo(HaveOccurred())
		Expect(hk.Hash).To(Equal(saved.KVHash), "the restored member hashes the snapshot revision as the source did")

		resp, err := dst.Client.Put(ctx, prefix+"after-restore", "x")
		Expect(err).NotTo(HaveOccurred(), "the restored member takes writes")
		Expect(resp.Header.Revision).To(Equal(saved.Revision + 1))
	})

	It("bumps the restored revision and marks it compacted when asked", func(ctx SpecContext) {
		path := filepath.Join(dir, "snapshot.db")
		saved, err := etcdsnap.Save(ctx, src.Client, path)
		Expect(err).NotTo(HaveOccurred())

		const bump = 1_000_000
		dataDir := filepath.Join(dir, "restored")
		restored, err := etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{
			DataDir: dataDir, Name: "restored", PeerURLs: []string{peerURL}, RevisionBump: bump,
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Revision).To(Equal(saved.Revision + bump))
		Expect(restored.TotalKeys).To(Equal(before))

		dst := startMember(ctx, "restored", dataDir)
		Expect(readKeys(ctx, dst.Client)).To(Equal(written))
		resp, err := dst.Client.Put(ctx, prefix+"after-restore", "x")
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Header.Revision).To(BeNumerically(">", saved.Revision+bump), "revisions never go back")
		_, err = dst.Client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(saved.Revision))
		Expect(err).To(MatchError(rpctypes.ErrCompacted), "a watcher at an old revision must relist, not resume")
	})

	DescribeTable("rejects a damaged snapshot in Inspect and Restore",
		func(ctx SpecContext, damage func([]byte) []byte) {
			good := filepath.Join(dir, "snapshot.db")
			_, err := etcdsnap.Save(ctx, src.Client, good)
			Expect(err).NotTo(HaveOccurred())
			b, err := os.ReadFile(good)
			Expect(err).NotTo(HaveOccurred())
			bad := filepath.Join(dir, "damaged.db")
			Expect(os.WriteFile(bad, damage(b), 0o600)).To(Succeed())

			_, err = etcdsnap.Inspect(bad)
			Expect(err).To(MatchError(etcdsnap.ErrCorrupt))
			Expect(err).To(MatchError(ContainSubstring(bad)))
			GinkgoWriter.Printf("Inspect: %v\n", err)

			dataDir := filepath.Join(dir, "restored")
			_, err = etcdsnap.Restore(ctx, bad, etcdsnap.RestoreOptions{DataDir: dataDir})
			Expect(err).To(MatchError(etcdsnap.ErrCorrupt))
			Expect(err).To(MatchError(ContainSubstring(bad)))
			GinkgoWriter.Printf("Restore: %v\n", err)
			Expect(dataDir).NotTo(BeAnExistingFile(), "nothing is written for a damaged snapshot")
		},
		Entry("cut short by one byte", func(b []byte) []byte { return b[:len(b)-1] }),
		Entry("cut in half at a page boundary", func(b []byte) []byte { return append(b[:len(b)/2/4096*4096], b[len(b)-32:]...) }),
		Entry("with one bit flipped in the data", func(b []byte) []byte { b[len(b)/3] ^= 0x10; return b }),
		Entry("without its sha256 trailer", func(b []byte) []byte { return b[:len(b)-32] }),
	)

	It("refuses to restore into a data directory that is not empty", func(ctx SpecContext) {
		path := filepath.Join(dir, "snapshot.db")
		_, err := etcdsnap.Save(ctx, src.Client, path)
		Expect(err).NotTo(HaveOccurred())

		dataDir := filepath.Join(dir, "in-use")
		Expect(os.MkdirAll(filepath.Join(dataDir, "member"), 0o700)).To(Succeed())
		_, err = etcdsnap.Restore(ctx, path, etcdsnap.RestoreOptions{DataDir: dataDir})
		Expect(err).To(MatchError(etcdsnap.ErrNotEmpty))
		Expect(err).To(MatchError(ContainSubstring(dataDir)))
		entries, err := os.ReadDir(dataDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1))
		Expect(entries[0].Name()).To(Equal("member"))
		member, err := os.ReadDir(filepath.Join(dataDir, "member"))
		Expect(err).NotTo(HaveOccurred())
		Expect(member).To(BeEmpty(), "the existing directory is left as it was")
	})
})
