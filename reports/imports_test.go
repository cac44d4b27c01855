package reports

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoProviderImports keeps reports independent of the providers: a
// report is made from the results file alone, on any machine.
func TestNoProviderImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, p := range []string{"github.com/kdrill/kdrill/harness/kind", "github.com/kdrill/kdrill/harness/aws", "github.com/kdrill/kdrill/faults", "sigs.k8s.io/kind"} {
			if dep == p || strings.HasPrefix(dep, p+"/") {
				t.Errorf("reports depends on %s", dep)
			}
		}
	}
}
