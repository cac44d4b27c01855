package faults

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestJournalPending(t *testing.T) {
	j, err := OpenJournal(filepath.Join(t.TempDir(), "sub", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := j.Pending(); err != nil || len(p) != 0 {
		t.Fatalf("empty journal: %v, %v", p, err)
	}
	ref := Ref{Provider: "kind", Name: "c"}
	for _, id := range []string{"a", "b", "c"} {
		if err := j.Injected(Entry{ID: id, Fault: "f", Target: ref, Params: Params{"node": id}, InjectedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Reverted("b"); err != nil {
		t.Fatal(err)
	}
	p, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p[0].ID != "a" || p[1].ID != "c" || p[1].Params["node"] != "c" {
		t.Fatalf("pending = %+v, want a and c in order", p)
	}

	// A crash in the middle of a write leaves a torn line: ignored.
	f, _ := os.OpenFile(j.Path(), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":"revert","id":"a"`)
	f.Close()
	p, err = j.Pending()
	if err != nil || len(p) != 2 {
		t.Fatalf("after a torn write: %+v, %v", p, err)
	}

	// A record written after the torn one still counts.
	if err := j.Reverted("c"); err != nil {
		t.Fatal(err)
	}
	if p, _ := j.Pending(); len(p) != 1 || p[0].ID != "a" {
		t.Fatalf("revert after a torn write lost: %+v", p)
	}

	// Reverting twice, or an id never injected, changes nothing.
	j.Reverted("zz")
	j.Reverted("b")
	if p, _ := j.Pending(); len(p) != 1 {
		t.Fatalf("after stray reverts: %+v", p)
	}
}
