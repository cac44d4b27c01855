package etcdsnap

import (
	"encoding/json"
	"testing"
	"time"
)

// The JSON names are part of the results file's schema; this pins them.
func TestInfoJSON(t *testing.T) {
	tests := []struct {
		name string
		info Info
		want string
	}{
		{"from Save", Info{Path: "/b/s.db", Revision: 42, Hash: 7, KVHash: 9, TotalKeys: 40, Size: 24608,
			SHA256: "ab", StorageVersion: "3.6.0", MemberID: "8e9e05c52164694d", TakenAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			`{"path":"/b/s.db","revision":42,"hash":7,"kv_hash":9,"total_keys":40,"size_bytes":24608,"sha256":"ab","storage_version":"3.6.0","member_id":"8e9e05c52164694d","taken_at":"2026-01-02T03:04:05Z"}`},
		{"from Restore", Info{Path: "/d", Revision: 42, Hash: 7, TotalKeys: 40, Size: 4096},
			`{"path":"/d","revision":42,"hash":7,"total_keys":40,"size_bytes":4096}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("json = %s\nwant   %s", b, tt.want)
			}
			var back Info
			if err := json.Unmarshal(b, &back); err != nil || back != tt.info {
				t.Errorf("round trip = %+v, %v; want %+v", back, err, tt.info)
			}
		})
	}
}
