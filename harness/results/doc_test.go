package results

import (
	"os"
	"strings"
	"testing"
)

// TestDocExample keeps the example in docs/results.md a valid results file.
func TestDocExample(t *testing.T) {
	const path = "../../docs/results.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	if !ok {
		t.Fatalf("%s has no JSON example", path)
	}
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: the JSON example does not end", path)
	}
	f, err := Parse(path, []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	sc := f.Scenarios[0]
	if sc.ID != "apiserver-crash" || *sc.RTOSeconds != 4.412 {
		t.Errorf("example scenario %s rto %v", sc.ID, *sc.RTOSeconds)
	}
	outs := sc.Timeline.Outages("api-write")
	if len(outs) != 1 {
		t.Fatalf("example outages %+v", outs)
	}
	inject, _ := sc.Timeline.FirstEvent("fault-injected")
	if got := (outs[0].End - inject.At).Seconds(); got < 4.4119 || got > 4.4121 {
		t.Errorf("example RTO from its own timeline is %v, the file says %v", got, *sc.RTOSeconds)
	}
}
