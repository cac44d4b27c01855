package main

import (
	"io"
	"maps"
	"testing"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	creds := env(map[string]string{"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "secret"})
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		usage  bool
		check  func(*testing.T, config)
	}{
		{"kind with credentials from the environment", []string{"--kind", "kdrill"}, creds, false, func(t *testing.T, c config) {
			if c.key != "AKIDLOCAL" || c.kind != "kdrill" || c.docker.DefaultZone != "us-east-1a" || c.timeScale != 1 {
				t.Errorf("%+v", c)
			}
		}},
		{"label with zones, tags and prefixes", []string{"--label", "a=b", "--region", "eu-west-1", "--zone", "n1=eu-west-1b",
			"--tag", "n1:kdrill/role=worker", "--tag", "n1:Name=one", "--prefix", "n1=10.244.1.0/24", "--time-scale", "60"}, creds, false,
			func(t *testing.T, c config) {
				if c.docker.Zones["n1"] != "eu-west-1b" || !maps.Equal(c.docker.Tags["n1"], map[string]string{"kdrill/role": "worker", "Name": "one"}) ||
					c.docker.Prefixes["n1"][0] != "10.244.1.0/24" || c.docker.DefaultZone != "eu-west-1a" || c.timeScale != 60 {
					t.Errorf("%+v", c)
				}
			}},
		{"no credentials", []string{"--kind", "kdrill"}, env(nil), true, nil},
		{"kind and label", []string{"--kind", "k", "--label", "a"}, creds, true, nil},
		{"neither kind nor label", nil, creds, true, nil},
		{"bad tag", []string{"--kind", "k", "--tag", "n1=x"}, creds, true, nil},
		{"bad time scale", []string{"--kind", "k", "--time-scale", "0"}, creds, true, nil},
		{"stray argument", []string{"--kind", "k", "extra"}, creds, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.args, tt.getenv, io.Discard)
			if _, isUsage := err.(*usageError); isUsage != tt.usage {
				t.Fatalf("err %v, usage error wanted: %v", err, tt.usage)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
