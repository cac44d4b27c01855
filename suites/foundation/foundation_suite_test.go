package foundation_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kdrill/kdrill/harness/kind"
	"github.com/kdrill/kdrill/suites/internal/testcluster"
)

func TestFoundation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Foundation")
}

// Test clusters use their own name and ports so a developer's drill
// cluster (kdrill, 30080) is left alone.
const (
	testCluster = "kdrill-test"
	testPort    = 30090
)

var cluster *kind.Cluster

var _ = BeforeSuite(func(ctx SpecContext) {
	cluster = testcluster.Up(ctx, testCluster, testPort)
}, NodeTimeout(60*time.Minute))
