package config

import (
	"errors"
	"os"
	"testing"

	"github.com/kdrill/kdrill/harness/input"
)

// FuzzParse checks that Parse never panics, and that every error it
// returns is an *input.Error that says where: a line or a field.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, seed := range []string{
		"",
		"target: {provider: aws, name: lab, aws: {account_id: '123456789012', region: eu-west-1}}\nallow: [aws:123456789012]\n",
		"scenarios: [vm-shutdown, vm-shutdown]\n",
		"scenarios:\n  vm-shutdown: {force: yes}\n",
		"slo:\n  scenarios:\n    vm-shutdown: {max_rto: 0s}\n",
		"slo: &a {defaults: {max_rto: 1m}}\nprobes: *a\n",
		"mitigations:\n  watchdog: {period: 1ms, datapoints: 9, evaluation: 2}\n",
		"probes: {data_plane_rate: .inf, debounce: 0x10}\n",
		"target:\n\tname: a\n",
		"allow:\n  - kind:lab\n  - kind:lab\n  - '*'\n",
		"? [a]\n: b\n",
		"a: &x [*x]\n",
		"slo: {scenarios: {vm-shutdown: {max_rto: 1m}}}\nslo: {}\n",
		"--- \n...\n---\ntarget: {}\n",
		"\xff\xfe",
		"target: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("kdrill.yaml", data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse() = nil, nil")
			}
			return
		}
		var ie *input.Error
		if !errors.As(err, &ie) {
			t.Fatalf("Parse() error %v is a %T, want an *input.Error", err, err)
		}
		if ie.Line <= 0 && ie.Field == "" {
			t.Fatalf("Parse() error %q names neither a line nor a field", err)
		}
	})
}
