package faults

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Entry is one injected fault as the journal records it: enough to revert
// it without the process that injected it.
type Entry struct {
	ID     string `json:"id"`
	Fault  string `json:"fault"`
	Target Ref    `json:"target"`
	// Params are what the fault's Revert needs: node names, addresses,
	// the exact rules it added.
	Params     Params    `json:"params"`
	InjectedAt time.Time `json:"injected_at"`
}

// Ref names the cluster a fault was injected into.
type Ref struct {
	Provider string `json:"provider"` // "kind", "aws"
	Name     string `json:"name"`     // cluster name
}

// Params are a fault's undo record.
type Params map[string]string

// record is one line of the journal file.
type record struct {
	Op    string    `json:"op"` // "inject" or "revert"
	Entry *Entry    `json:"entry,omitempty"`
	ID    string    `json:"id,omitempty"`
	At    time.Time `json:"at"`
}

// Journal is an append-only file of inject and revert records, one JSON
// object a line, synced after every write. A torn last line (a crash in the
// middle of a write) is ignored when reading.
type Journal struct {
	path string
	mu   sync.Mutex
}

// OpenJournal returns the journal at path, creating its folder.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create journal folder: %w", err)
	}
	return &Journal{path: path}, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) append(r record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	// After a torn write the file ends mid-line; start a new line so this
	// record is not glued to the broken one.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync journal: %w", err)
	}
	return f.Close()
}

// Injected records e as applied (or about to be). It returns once the
// record is on disk.
func (j *Journal) Injected(e Entry) error {
	return j.append(record{Op: "inject", Entry: &e, At: time.Now()})
}

// Reverted records that the entry with that id is undone.
func (j *Journal) Reverted(id string) error {
	return j.append(record{Op: "revert", ID: id, At: time.Now()})
}

// Pending returns the injected entries not yet reverted, oldest first.
func (j *Journal) Pending() ([]Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	var order []string
	open := map[string]Entry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // a torn write; the records before it stand
		}
		switch r.Op {
		case "inject":
			if r.Entry != nil {
				order = append(order, r.Entry.ID)
				open[r.Entry.ID] = *r.Entry
			}
		case "revert":
			delete(open, r.ID)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	var out []Entry
	for _, id := range order {
		if e, ok := open[id]; ok {
			out = append(out, e)
			delete(open, id)
		}
	}
	return out, nil
}
