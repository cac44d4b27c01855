package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/slo"
)

// exampleFile is the example config at the top of the repository.
var exampleFile = filepath.Join("..", "..", "kdrill.example.yaml")

func TestExample(t *testing.T) {
	c, err := Load(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Provider != Kind || c.Target.Name != "kdrill" {
		t.Errorf("target %+v", c.Target)
	}
	if len(c.Allow) != 1 || c.Allow[0].String() != "kind:kdrill" || c.Allow[0].Line != 13 {
		t.Errorf("allow %+v", c.Allow)
	}
	if got, want := c.IDs(), drill.Scenarios(); !slices.Equal(got, want) {
		t.Errorf("IDs() = %v, want %v", got, want)
	}
	// The example spells out the defaults: it must mean what no file means.
	def := Default()
	for _, id := range drill.Scenarios() {
		got, want := c.Options(id), def.Options(id)
		if got.MitigationOff != want.MitigationOff || got.Watchdog != want.Watchdog || got.BackupInterval != want.BackupInterval ||
			got.DataPlaneRate != want.DataPlaneRate || got.Debounce != want.Debounce || got.ForceStop != want.ForceStop {
			t.Errorf("%s: example options %+v, defaults %+v", id, got, want)
		}
		if g, w := c.SLO.For(id), slo.Builtin().For(id); g.Validate() != nil || *g.MaxRTO != *w.MaxRTO {
			t.Errorf("%s: example SLO %+v, built-in %+v", id, g, w)
		}
	}
}

func TestParse(t *testing.T) {
	data := `
target:
  provider: aws
  name: lab-cluster
  kube_context: lab-admin@lab
  aws:
    account_id: "123456789012"
    region: eu-west-1
    endpoint: http://127.0.0.1:4566
    profile: drills
    tags: {kdrill/cluster: lab, cost-center: 42}
allow: [aws:123456789012, context:lab-admin@lab]
scenarios:
  - vm-shutdown
  - apiserver-crash
slo:
  scenarios:
    vm-shutdown:
      max_rto: 7m
mitigations:
  restarts: {enabled: false}
  watchdog: {period: 5s, datapoints: 2, evaluation: 3}
  backups: {interval: 30s}
probes:
  data_plane_rate: 50.5
  debounce: 3
`
	c, err := Parse("kdrill.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Target.AWS
	if c.Target.Provider != AWS || c.Target.Name != "lab-cluster" || c.Target.KubeContext != "lab-admin@lab" ||
		a.AccountID != "123456789012" || a.Region != "eu-west-1" || a.Endpoint != "http://127.0.0.1:4566" || a.Profile != "drills" ||
		a.Tags["kdrill/cluster"] != "lab" || a.Tags["cost-center"] != "42" {
		t.Errorf("target %+v", c.Target)
	}
	if len(c.Allow) != 2 || c.Allow[1].Kind != "context" || c.Allow[1].Name != "lab-admin@lab" {
		t.Errorf("allow %+v", c.Allow)
	}
	if got := c.IDs(); !slices.Equal(got, []string{slo.VMShutdown, slo.APIServerCrash}) {
		t.Errorf("IDs() = %v: want the file's order", got)
	}
	if got := c.SLO.For(slo.VMShutdown).MaxRTO.D(); got != 7*time.Minute {
		t.Errorf("vm-shutdown max_rto %v", got)
	}
	o := c.Options(slo.APIServerCrash)
	if !o.MitigationOff || o.DataPlaneRate != 50.5 || o.Debounce != 3 {
		t.Errorf("apiserver-crash options %+v: restarts are off", o)
	}
	o = c.Options(slo.VMShutdown)
	if o.MitigationOff || o.Watchdog != (drill.WatchdogOptions{Period: 5 * time.Second, Datapoints: 2, Evaluation: 3}) {
		t.Errorf("vm-shutdown options %+v", o)
	}
	if o := c.Options(slo.EtcdDataLoss); o.BackupInterval != 30*time.Second || o.MitigationOff {
		t.Errorf("etcd-data-loss options %+v", o)
	}
}

func TestParseScenarioParameters(t *testing.T) {
	c, err := Parse("kdrill.yaml", []byte("scenarios:\n  vm-shutdown: {force: true}\n  kubelet-crash: {}\n  etcd-data-loss:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Scenario(slo.VMShutdown).Force || !c.Options(slo.VMShutdown).ForceStop {
		t.Error("vm-shutdown force not set")
	}
	if c.Options(slo.KubeletCrash).ForceStop || c.Scenario(slo.APIServerCrash).ID != slo.APIServerCrash {
		t.Error("parameters leaked to other scenarios")
	}
	if got := c.IDs(); !slices.Equal(got, []string{slo.VMShutdown, slo.KubeletCrash, slo.EtcdDataLoss}) {
		t.Errorf("IDs() = %v", got)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "\n", "# nothing\n", "~\n", "---\n", "target:\nallow:\nscenarios:\nslo:\nmitigations:\nprobes:\n"} {
		c, err := Parse("kdrill.yaml", []byte(data))
		if err != nil {
			t.Errorf("Parse(%q): %v", data, err)
			continue
		}
		c.File, c.lines = "", nil
		if c.Allow != nil || c.Scenarios != nil || c.SLO != nil || c.Target.Name != DefaultName || !c.Mitigations.Watchdog.Enabled ||
			c.Probes != Default().Probes || !slices.Equal(c.IDs(), drill.Scenarios()) {
			t.Errorf("Parse(%q) = %+v, want the defaults", data, c)
		}
	}
}

// TestParseErrors holds every message the parser gives: each names the
// line and the field.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		line  int
		field string
		msg   string
	}{
		// the file as a whole
		{"malformed YAML", "target:\n  name: a\n    provider: kind\n", 3, "", "malformed YAML: mapping values are not allowed"},
		{"tab indentation", "target:\n\tname: a\n", 2, "", "malformed YAML"},
		{"control character", "target: {}\nprobes:\n  debounce: \x01\n", 3, "", "malformed YAML: control characters are not allowed"},
		{"invalid UTF-8", "target: {}\n\nprobes: \xff\n", 3, "", "malformed YAML: invalid leading UTF-8 octet"},
		{"unknown anchor", "target: {}\nprobes: *p\n", 2, "", "malformed YAML: unknown anchor 'p' referenced"},
		{"recursive alias", "slo: &s [*s]\n", 1, "slo", ""},
		{"duplicate key", "probes: {}\nprobes: {}\n", 2, "", `key "probes" already defined at line 1`},
		{"duplicate nested key", "mitigations:\n  watchdog:\n    period: 5s\n    period: 6s\n", 4, "", `key "period" already defined at line 3`},
		{"not a mapping", "- vm-shutdown\n", 1, "", "want a mapping with target, allow, scenarios, slo, mitigations, probes, got a list"},
		{"a scalar", "kdrill\n", 1, "", "got a string"},
		{"unknown top-level field", "target: {}\ntargets: {}\n", 2, "targets", "unknown field (known: target, allow"},
		{"an SLO file", "defaults:\n  max_rto: 1m\n", 1, "defaults", "this looks like an SLO file: pass it with --slo"},
		{"misplaced name", "name: lab\n", 1, "name", "it belongs under target:"},
		{"misplaced watchdog", "watchdog: {}\n", 1, "watchdog", "it belongs under mitigations:"},
		{"misplaced debounce", "debounce: 3\n", 1, "debounce", "it belongs under probes:"},
		{"merge key", "base: &b {enabled: true}\n", 1, "base", "unknown field"},
		{"merge key used", "mitigations:\n  watchdog:\n    <<: {enabled: true}\n", 3, "mitigations.watchdog.<<", "merge keys (<<) are not supported"},
		{"number as key", "target:\n  1: a\n", 2, "target.1", "unknown field"},
		{"list as key", "target:\n  ? [a]\n  : b\n", 2, "target", "want a name as key, got a list"},

		// target
		{"target a list", "target:\n  - kind\n", 1, "target", "want a mapping with provider, name, kube_context, kubeconfig, workload_url, aws, got a list"},
		{"unknown target field", "target:\n  cluster: lab\n", 2, "target.cluster", "unknown field (known: provider, name"},
		{"unknown provider", "target:\n  provider: gcp\n", 2, "target.provider", `unknown provider "gcp" (known: kind, aws)`},
		{"provider a number", "target:\n  provider: 7\n", 2, "target.provider", `want a string, got a number (quote it: "7")`},
		{"name a number", "target:\n  name: 2024\n", 2, "target.name", `want a string, got a number (quote it: "2024")`},
		{"name a date", "target:\n  name: 2024-01-01\n", 2, "target.name", "want a string, got a date"},
		{"name a mapping", "target:\n  name: {a: b}\n", 2, "target.name", "want a string, got a mapping"},
		{"empty name", "target:\n  name: ''\n", 2, "target.name", "is empty"},
		{"bad kind name", "target:\n  name: Lab_1\n", 2, "target.name", `"Lab_1" is not a kind cluster name`},
		{"name with a path", "target:\n  name: ../etc\n", 2, "target.name", "is not a kind cluster name"},
		{"kube context for kind", "target:\n  name: lab\n  kube_context: lab\n", 3, "target.kube_context", "only for provider aws"},
		{"kubeconfig for kind", "target:\n  kubeconfig: /tmp/k\n", 2, "target.kubeconfig", "only for provider aws"},
		{"aws block for kind", "target:\n  aws:\n    region: eu-west-1\n", 2, "target.aws", "only for provider aws"},
		{"empty kubeconfig", "target:\n  kubeconfig: ''\n", 2, "target.kubeconfig", "is empty"},
		{"workload_url for kind", "target:\n  workload_url: http://127.0.0.1:30080/\n", 2, "target.workload_url", "only for provider aws"},
		{"workload_url not a URL", "target:\n  provider: aws\n  workload_url: here\n", 3, "target.workload_url", "want an http(s) URL"},
		{"context with a space", "target:\n  provider: aws\n  kube_context: 'a b'\n", 3, "target.kube_context", "without spaces"},
		{"aws without name", "target:\n  provider: aws\n  aws: {account_id: '123456789012', region: eu-west-1}\n", 1, "target.name", "required for provider aws"},
		{"aws without account", "target:\n  provider: aws\n  name: lab\n  aws: {region: eu-west-1}\n", 4, "target.aws.account_id", "required for provider aws"},
		{"aws without block", "target:\n  provider: aws\n  name: lab\n", 1, "target.aws.account_id", "required for provider aws"},
		{"aws without region", "target:\n  provider: aws\n  name: lab\n  aws: {account_id: '123456789012'}\n", 4, "target.aws.region", "required for provider aws"},
		{"account a number", "target:\n  provider: aws\n  aws:\n    account_id: 123456789012\n", 4, "target.aws.account_id", "want a string, got a number (quote it"},
		{"short account", "target:\n  provider: aws\n  aws:\n    account_id: '1234'\n", 4, "target.aws.account_id", `want the 12 digits of an AWS account id, got "1234"`},
		{"bad region", "target:\n  provider: aws\n  aws:\n    region: Europe\n", 4, "target.aws.region", `want an AWS region such as eu-west-1, got "Europe"`},
		{"bad endpoint", "target:\n  provider: aws\n  aws:\n    endpoint: localhost:4566\n", 4, "target.aws.endpoint", "want an http(s) URL"},
		{"empty profile", "target:\n  provider: aws\n  aws:\n    profile: ''\n", 4, "target.aws.profile", "is empty"},
		{"unknown aws field", "target:\n  provider: aws\n  aws:\n    zone: a\n", 4, "target.aws.zone", "unknown field (known: account_id, region, endpoint, profile, tags, backup_bucket, backup_prefix)"},
		{"bad bucket", "target:\n  provider: aws\n  aws:\n    backup_bucket: My_Bucket\n", 4, "target.aws.backup_bucket", "want an S3 bucket name"},
		{"absolute prefix", "target:\n  provider: aws\n  aws:\n    backup_prefix: /etcd/\n", 4, "target.aws.backup_prefix", "cannot start with '/'"},
		{"tags a list", "target:\n  provider: aws\n  aws:\n    tags: [a]\n", 4, "target.aws.tags", "want a mapping, got a list"},
		{"tag value a mapping", "target:\n  provider: aws\n  aws:\n    tags:\n      team: {a: b}\n", 5, "target.aws.tags.team", "want the tag's value, got a mapping"},
		{"tag value empty", "target:\n  provider: aws\n  aws:\n    tags:\n      team:\n", 5, "target.aws.tags.team", "want the tag's value, got nothing"},
		{"empty tag key", "target:\n  provider: aws\n  aws:\n    tags:\n      '': x\n", 5, "target.aws.tags.", "a tag key is empty"},

		// allow
		{"allow a string", "allow: kind:lab\n", 1, "allow", "want a list of targets"},
		{"allow entry a number", "allow:\n  - 42\n", 2, "allow[0]", "want a string, got a number"},
		{"allow entry without kind", "allow:\n  - kind:lab\n  - lab\n", 3, "allow[1]", `"lab": want kind:NAME, context:NAME or aws:ACCOUNT_ID`},
		{"allow entry of unknown kind", "allow:\n  - cluster:lab\n", 2, "allow[0]", `unknown kind of target "cluster" (known: kind, context, aws)`},
		{"allow wildcard", "allow:\n  - kind:*\n", 2, "allow[0]", "no wildcards"},
		{"allow bad kind name", "allow:\n  - kind:Lab\n", 2, "allow[0]", "is not a kind cluster name"},
		{"allow empty context", "allow:\n  - 'context:'\n", 2, "allow[0]", "want a kube context name"},
		{"allow bad account", "allow:\n  - aws:12345\n", 2, "allow[0]", "want the 12 digits of an AWS account id"},

		// scenarios
		{"scenarios a string", "scenarios: vm-shutdown\n", 1, "scenarios", "want a list of scenario ids, or a mapping of id to parameters, got a string"},
		{"empty scenario list", "scenarios: []\n", 1, "scenarios", "lists no scenario; leave it out to drill them all"},
		{"empty scenario mapping", "scenarios: {}\n", 1, "scenarios", "lists no scenario"},
		{"unknown scenario", "scenarios:\n  - vm-shutdown\n  - meteor-strike\n", 3, "scenarios[1]", `unknown scenario "meteor-strike" (known: apiserver-crash`},
		{"unknown scenario key", "scenarios:\n  meteor-strike: {}\n", 2, "scenarios.meteor-strike", `unknown scenario "meteor-strike"`},
		{"scenario twice", "scenarios:\n  - vm-shutdown\n  - vm-shutdown\n", 3, "scenarios[1]", "vm-shutdown is listed twice (first at line 2)"},
		{"scenario id a number", "scenarios:\n  - 1\n", 2, "scenarios[0]", "want a string, got a number"},
		{"parameters in a list", "scenarios:\n  - vm-shutdown: {force: true}\n", 2, "scenarios[0]", "make scenarios a mapping of id to parameters"},
		{"unknown parameter", "scenarios:\n  vm-shutdown:\n    forced: true\n", 3, "scenarios.vm-shutdown.forced", "unknown field (known: force)"},
		{"SLO bound as a parameter", "scenarios:\n  vm-shutdown:\n    max_rto: 5m\n", 3, "scenarios.vm-shutdown.max_rto", "SLO bounds go under slo.scenarios.vm-shutdown"},
		{"parameter for a scenario without any", "scenarios:\n  apiserver-crash:\n    force: true\n", 3, "scenarios.apiserver-crash.force", "apiserver-crash takes no parameters"},
		{"SLO bound for a scenario without parameters", "scenarios:\n  kubelet-crash:\n    max_rto: 5m\n", 3, "scenarios.kubelet-crash.max_rto", "SLO bounds go under slo.scenarios.kubelet-crash"},
		{"scalar parameters", "scenarios:\n  kubelet-crash: fast\n", 2, "scenarios.kubelet-crash", "takes no parameters; leave its value empty"},
		{"force a string", "scenarios:\n  vm-shutdown:\n    force: yes\n", 3, "scenarios.vm-shutdown.force", `want true or false, got a string "yes"`},
		{"parameters a list", "scenarios:\n  vm-shutdown: [force]\n", 2, "scenarios.vm-shutdown", "want a mapping with force, got a list"},

		// slo: the SLO file's own rules, at the file's lines
		{"slo a list", "slo:\n  - 1m\n", 1, "slo", "want a mapping with defaults and scenarios, got a list"},
		{"unknown slo field", "target: {}\nslo:\n  default: {}\n", 3, "slo.default", "unknown field (known: defaults, scenarios)"},
		{"unknown slo scenario", "slo:\n  scenarios:\n    meteor-strike: {}\n", 3, "slo.scenarios.meteor-strike", `unknown scenario id "meteor-strike"`},
		{"unknown bound", "slo:\n  scenarios:\n    vm-shutdown:\n      max_rtoo: 1m\n", 4, "slo.scenarios.vm-shutdown.max_rtoo", "unknown field"},
		{"bad bound", "probes: {}\nslo:\n  defaults:\n    min_data_plane_availability: 99.5\n", 4, "slo.defaults.min_data_plane_availability", "write 0.995"},
		{"bound a number", "slo:\n  scenarios:\n    vm-shutdown:\n      max_rto: 300\n", 4, "slo.scenarios.vm-shutdown.max_rto", `want a duration such as "90s"`},
		{"both RPO bounds", "slo:\n  scenarios:\n    etcd-data-loss:\n      max_rpo: 1m\n      max_rpo_backup_intervals: 2\n", 4, "slo.scenarios.etcd-data-loss.max_rpo", "not both"},

		// mitigations
		{"mitigations a list", "mitigations: [watchdog]\n", 1, "mitigations", "want a mapping with restarts, watchdog, backups, reprovision, got a list"},
		{"unknown mitigation", "mitigations:\n  alarm: {}\n", 2, "mitigations.alarm", "unknown field (known: restarts, watchdog, backups, reprovision)"},
		{"reprovision a list", "mitigations:\n  reprovision: [on]\n", 2, "mitigations.reprovision", "want a mapping with enabled, got a list"},
		{"restarts a boolean", "mitigations:\n  restarts: false\n", 2, "mitigations.restarts", "want a mapping with enabled, got a boolean"},
		{"enabled a string", "mitigations:\n  restarts:\n    enabled: 'no'\n", 3, "mitigations.restarts.enabled", `want true or false, got a string "no"`},
		{"enabled a number", "mitigations:\n  backups:\n    enabled: 1\n", 3, "mitigations.backups.enabled", `want true or false, got a number "1"`},
		{"unknown watchdog field", "mitigations:\n  watchdog:\n    threshold: 2\n", 3, "mitigations.watchdog.threshold", "unknown field (known: enabled, period, datapoints, evaluation)"},
		{"period too short", "mitigations:\n  watchdog:\n    period: 500ms\n", 3, "mitigations.watchdog.period", "must be at least 1s, got 500ms"},
		{"period negative", "mitigations:\n  watchdog:\n    period: -5s\n", 3, "mitigations.watchdog.period", "must be at least 1s"},
		{"period a number", "mitigations:\n  watchdog:\n    period: 60\n", 3, "mitigations.watchdog.period", `want a duration such as "90s" or "5m", got a number "60"`},
		{"period garbage", "mitigations:\n  watchdog:\n    period: soon\n", 3, "mitigations.watchdog.period", `got a string "soon"`},
		{"datapoints zero", "mitigations:\n  watchdog:\n    datapoints: 0\n", 3, "mitigations.watchdog.datapoints", "must be between 1 and 100, got 0"},
		{"datapoints fractional", "mitigations:\n  watchdog:\n    datapoints: 1.5\n", 3, "mitigations.watchdog.datapoints", `want a whole number, got a number "1.5"`},
		{"datapoints huge", "mitigations:\n  watchdog:\n    datapoints: 99999999999999999999\n", 3, "mitigations.watchdog.datapoints", "want a whole number"},
		{"evaluation too big", "mitigations:\n  watchdog:\n    evaluation: 101\n", 3, "mitigations.watchdog.evaluation", "must be between 1 and 100"},
		{"datapoints above evaluation", "mitigations:\n  watchdog:\n    datapoints: 3\n    evaluation: 2\n", 3, "mitigations.watchdog.datapoints", "datapoints (3) must not exceed evaluation (2)"},
		{"evaluation below default datapoints", "mitigations:\n  watchdog:\n    evaluation: 1\n", 3, "mitigations.watchdog.evaluation", "datapoints (2) must not exceed evaluation (1)"},
		{"interval too short", "mitigations:\n  backups:\n    interval: 2s\n", 3, "mitigations.backups.interval", "must be at least 5s, got 2s"},
		{"unknown backups field", "mitigations:\n  backups:\n    keep: 3\n", 3, "mitigations.backups.keep", "unknown field (known: enabled, interval)"},

		// probes
		{"probes a string", "probes: fast\n", 1, "probes", "want a mapping with data_plane_rate, debounce, got a string"},
		{"unknown probe field", "probes:\n  rate: 5\n", 2, "probes.rate", "unknown field (known: data_plane_rate, debounce)"},
		{"rate zero", "probes:\n  data_plane_rate: 0\n", 2, "probes.data_plane_rate", "must be above 0 and at most 1000"},
		{"rate too high", "probes:\n  data_plane_rate: 5000\n", 2, "probes.data_plane_rate", "got 5000"},
		{"rate a string", "probes:\n  data_plane_rate: fast\n", 2, "probes.data_plane_rate", `want a number, got a string "fast"`},
		{"rate not a number", "probes:\n  data_plane_rate: .nan\n", 2, "probes.data_plane_rate", "want a finite number"},
		{"debounce zero", "probes:\n  debounce: 0\n", 2, "probes.debounce", "must be between 1 and 100, got 0"},
		{"debounce a list", "probes:\n  debounce: [2]\n", 2, "probes.debounce", "want a whole number, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("kdrill.yaml", []byte(tt.data))
			var ie *input.Error
			if !errors.As(err, &ie) {
				t.Fatalf("Parse() error = %v (%T), want an *input.Error", err, err)
			}
			if ie.File != "kdrill.yaml" || ie.Line != tt.line || ie.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Parse() error = %q\n(line %d, field %q), want line %d, field %q, message containing %q",
					err, ie.Line, ie.Field, tt.line, tt.field, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "kdrill.yaml"))
	if !input.Is(err) || err.Error() != filepath.Join(dir, "kdrill.yaml")+": no such config file" {
		t.Errorf("Load(missing) = %v", err)
	}
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("probes:\n  debounce: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || err.Error() != path+":2: probes.debounce: must be between 1 and 100, got 0" {
		t.Errorf("Load(bad) = %v", err)
	}
}

func TestParseAllow(t *testing.T) {
	for _, s := range []string{"kind:lab", "context:arn:aws:eks:eu-west-1:123456789012:cluster/lab", "aws:000000000000"} {
		a, err := ParseAllow(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAllow(%q) = %v, %v", s, a, err)
		}
	}
}

// TestEveryScenarioHasAMitigation keeps mitigations: in step with the
// scenarios drill can run: each must be switchable off.
func TestEveryScenarioHasAMitigation(t *testing.T) {
	for _, id := range drill.Scenarios() {
		if mitigationOf[id] == "" {
			t.Errorf("%s: no mitigation in config.mitigationOf", id)
		}
	}
}

func TestMitigationOff(t *testing.T) {
	c := Default()
	c.Mitigations.Watchdog.Enabled = false
	for id, want := range map[string]bool{slo.APIServerCrash: false, slo.KubeletCrash: false, slo.VMShutdown: true, slo.EtcdDataLoss: false, slo.NetworkPartition: false} {
		if got := c.MitigationOff(id); got != want {
			t.Errorf("MitigationOff(%s) = %v with the watchdog off", id, got)
		}
	}
	c.SetMitigations(false)
	for _, id := range drill.Scenarios() {
		if !c.MitigationOff(id) {
			t.Errorf("MitigationOff(%s) = false with every mitigation off", id)
		}
	}
}
