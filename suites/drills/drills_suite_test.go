package drills_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/kind/nodeimage"
	"github.com/kdrill/kdrill/harness/results"
	"github.com/kdrill/kdrill/reports"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

func TestDrills(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Drills")
}

// The drill cluster has its own name and ports, apart from a developer's
// kdrill cluster and the foundation suite's.
const (
	testCluster = "kdrill-drills"
	testPort    = 30190
)

var (
	env     drill.Env
	outDir  string
	scenRes []results.Scenario
	started time.Time
)

var _ = BeforeSuite(func(ctx SpecContext) {
	c := testcluster.Up(ctx, testCluster, testPort)
	outDir = os.Getenv("KDRILL_OUT")
	if outDir == "" {
		// Not GinkgoT().TempDir(): that is gone before ReportAfterSuite
		// writes the reports into it.
		var err error
		outDir, err = os.MkdirTemp("", "kdrill-drills-")
		Expect(err).NotTo(HaveOccurred())
	}
	j, err := faults.OpenJournal(filepath.Join(outDir, "journal.jsonl"))
	Expect(err).NotTo(HaveOccurred())
	env = drill.Env{Target: c, Ref: faults.Ref{Provider: "kind", Name: testCluster}, Journal: j}
	started = time.Now()
}, NodeTimeout(60*time.Minute))

// Every drill's result goes into one results file and its HTML and JUnit
// reports, as 'kdrill run' writes them; KDRILL_OUT keeps them.
var _ = ReportAfterSuite("kdrill results and reports", func(Report) {
	if len(scenRes) == 0 {
		return
	}
	f := &results.File{Schema: results.Schema, Run: results.Run{KdrillVersion: "test", Provider: "kind", KubernetesVersion: nodeimage.DefaultKubernetesVersion, Start: started, End: time.Now()}, Scenarios: scenRes}
	path := filepath.Join(outDir, "results.json")
	Expect(results.Write(path, f)).To(Succeed())
	Expect(reports.Write(reports.Paths{HTML: filepath.Join(outDir, "report.html"), JUnit: filepath.Join(outDir, "junit.xml")}, f, reports.Options{Source: path})).To(Succeed())
	GinkgoWriter.Printf("results: %s\nreport:  %s\n", path, filepath.Join(outDir, "report.html"))
})

// drillOptions are CI's: the watchdog checks every 5 s instead of 60 s.
func drillOptions() drill.Options {
	return drill.Options{
		Watchdog:       drill.WatchdogOptions{Period: 5 * time.Second, Datapoints: 2, Evaluation: 2},
		BackupInterval: 15 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(GinkgoWriter, nil)),
	}
}

// runDrill drills one scenario and keeps its result for the results file.
// No fault may be left in the journal afterwards, whatever the verdict.
func runDrill(ctx context.Context, id string, o drill.Options) results.Scenario {
	res, err := drill.Run(ctx, env, id, o)
	Expect(err).NotTo(HaveOccurred(), "the fault could not be reverted")
	pending, jerr := env.Journal.Pending()
	Expect(jerr).NotTo(HaveOccurred())
	Expect(pending).To(BeEmpty(), "faults left in the journal")
	scenRes = append(scenRes, res)
	for _, c := range res.Checks {
		GinkgoWriter.Printf("  %-32s %-5s %s\n", c.Name, c.Verdict, c.Detail)
	}
	return res
}
