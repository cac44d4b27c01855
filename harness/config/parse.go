package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/kdrill/kdrill/harness/drill"
	"github.com/kdrill/kdrill/harness/input"
	"github.com/kdrill/kdrill/harness/slo"
)

// Load reads a drill config file. Every mistake in it is an *input.Error
// naming the file, the line and the field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &input.Error{File: path, Err: errors.New("no such config file")}
		}
		return nil, &input.Error{File: path, Err: fmt.Errorf("read config file: %w", err)}
	}
	return Parse(path, data)
}

// topFields are the keys of kdrill.yaml, in the order docs/config.md
// describes them.
var topFields = []string{"target", "allow", "scenarios", "slo", "mitigations", "probes"}

// Parse reads a drill config from YAML data; file names the data in
// errors. Every key is optional: what the file leaves out keeps the value
// of Default. An empty file is Default.
func Parse(file string, data []byte) (*Config, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		if line == 0 {
			line = locate(data, msg)
		}
		return nil, input.Errorf(file, line, "", "malformed YAML: %s", msg)
	}
	if line, key, prev := duplicateKey(&doc); line > 0 {
		return nil, input.Errorf(file, line, "", "malformed YAML: key %q already defined at line %d", key, prev)
	}
	c := Default()
	c.File = file
	c.lines = map[string]int{}
	if doc.Kind != yamlv3.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return c, nil
	}
	p := &parser{file: file, c: c}
	root := resolve(doc.Content[0])
	if root.Kind != yamlv3.MappingNode {
		return nil, input.Errorf(file, max(root.Line, 1), "", "want a mapping with %s, got %s", strings.Join(topFields, ", "), describe(root))
	}
	var sloKey *yamlv3.Node
	err := p.mapping(root, field{line: root.Line}, topFields, func(k string, f field, v *yamlv3.Node) error {
		switch k {
		case "target":
			return p.target(v, f)
		case "allow":
			return p.allow(v, f)
		case "scenarios":
			return p.scenarios(v, f)
		case "slo":
			sloKey = v
			c.lines[f.path] = f.line
			return nil
		case "mitigations":
			return p.mitigations(v, f)
		case "probes":
			return p.probes(v, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := p.checkTarget(); err != nil {
		return nil, err
	}
	// The SLOs are read last, by the SLO file's own parser, so that they
	// mean exactly what they mean in an SLO file.
	if sloKey != nil && !isNull(sloKey) {
		s, err := slo.ParseSection(file, data, "slo")
		if err != nil {
			var ie *input.Error
			if !errors.As(err, &ie) {
				ie = &input.Error{File: file, Err: err}
			}
			if ie.Line == 0 {
				ie.Line = c.lines["slo"]
			}
			if ie.Field == "" {
				ie.Field = "slo"
			}
			return nil, ie
		}
		c.SLO = s
	}
	return c, nil
}

// parser decodes the node tree of one file into c.
type parser struct {
	file string
	c    *Config
}

// field is where a value is: its dotted path, and the line of its key.
type field struct {
	path string
	line int
}

func (f field) child(key string, line int) field {
	if f.path == "" {
		return field{path: key, line: line}
	}
	return field{path: f.path + "." + key, line: line}
}

func (p *parser) fail(f field, format string, args ...any) error {
	return input.Errorf(p.file, max(f.line, 1), f.path, format, args...)
}

// mapping calls fn for each key of the mapping n in document order. A null
// n is an empty mapping. Keys must be strings and among known, if known is
// not nil.
func (p *parser) mapping(n *yamlv3.Node, f field, known []string, fn func(key string, f field, v *yamlv3.Node) error) error {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yamlv3.MappingNode {
		if known != nil {
			return p.fail(f, "want a mapping with %s, got %s", strings.Join(known, ", "), describe(n))
		}
		return p.fail(f, "want a mapping, got %s", describe(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yamlv3.ScalarNode || k.ShortTag() == "!!null" {
			return p.fail(field{path: f.path, line: k.Line}, "want a name as key, got %s", describe(k))
		}
		kf := f.child(k.Value, k.Line)
		if k.ShortTag() == "!!merge" {
			return p.fail(kf, "merge keys (<<) are not supported in kdrill.yaml; write the fields out")
		}
		if known != nil && !slices.Contains(known, k.Value) {
			return p.fail(kf, "unknown field (known: %s)%s", strings.Join(known, ", "), hintFor(f.path, k.Value))
		}
		p.c.lines[kf.path] = kf.line
		if err := fn(k.Value, kf, resolve(v)); err != nil {
			return err
		}
	}
	return nil
}

// hintFor says where a misplaced well-known key belongs.
func hintFor(parent, key string) string {
	switch {
	case parent == "" && key == "defaults":
		return "; this looks like an SLO file: pass it with --slo, or move it under slo:"
	case parent == "" && (key == "provider" || key == "name" || key == "kube_context"):
		return "; it belongs under target:"
	case parent == "" && (key == "watchdog" || key == "backups" || key == "restarts" || key == "reprovision"):
		return "; it belongs under mitigations:"
	case parent == "" && (key == "data_plane_rate" || key == "debounce"):
		return "; it belongs under probes:"
	case strings.HasPrefix(parent, "scenarios.") && isBound(key):
		return fmt.Sprintf("; SLO bounds go under slo.%s", parent)
	}
	return ""
}

func isBound(key string) bool {
	return strings.HasPrefix(key, "max_") || strings.HasPrefix(key, "min_")
}

// The scalar decoders. Each wants one YAML type and says what it got
// instead; a null value is an error (the caller skips nulls where they
// mean "keep the default").

func (p *parser) str(v *yamlv3.Node, f field) (string, error) {
	if v.Kind != yamlv3.ScalarNode || v.ShortTag() != "!!str" {
		hint := ""
		if v.Kind == yamlv3.ScalarNode && !isNull(v) {
			hint = fmt.Sprintf(` (quote it: "%s")`, v.Value)
		}
		return "", p.fail(f, "want a string, got %s%s", describe(v), hint)
	}
	return v.Value, nil
}

func (p *parser) boolean(v *yamlv3.Node, f field) (bool, error) {
	var b bool
	if v.Kind != yamlv3.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		return false, p.fail(f, "want true or false, got %s", describeValue(v))
	}
	return b, nil
}

func (p *parser) duration(v *yamlv3.Node, f field) (time.Duration, error) {
	if v.Kind == yamlv3.ScalarNode && v.ShortTag() == "!!str" {
		if d, err := time.ParseDuration(v.Value); err == nil {
			return d, nil
		}
	}
	return 0, p.fail(f, `want a duration such as "90s" or "5m", got %s`, describeValue(v))
}

func (p *parser) integer(v *yamlv3.Node, f field, lo, hi int) (int, error) {
	var i int
	if v.Kind != yamlv3.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&i) != nil {
		return 0, p.fail(f, "want a whole number, got %s", describeValue(v))
	}
	if i < lo || i > hi {
		return 0, p.fail(f, "must be between %d and %d, got %d", lo, hi, i)
	}
	return i, nil
}

func (p *parser) number(v *yamlv3.Node, f field) (float64, error) {
	var x float64
	tag := v.ShortTag()
	if v.Kind != yamlv3.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(&x) != nil {
		return 0, p.fail(f, "want a number, got %s", describeValue(v))
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, p.fail(f, "want a finite number, got %s", v.Value)
	}
	return x, nil
}

// target decodes target:.
func (p *parser) target(n *yamlv3.Node, f field) error {
	t := &p.c.Target
	return p.mapping(n, f, []string{"provider", "name", "kube_context", "kubeconfig", "workload_url", "aws"}, func(k string, f field, v *yamlv3.Node) error {
		if isNull(v) {
			return nil
		}
		var err error
		switch k {
		case "provider":
			if t.Provider, err = p.str(v, f); err == nil && t.Provider != Kind && t.Provider != AWS {
				err = p.fail(f, "unknown provider %q (known: kind, aws)", t.Provider)
			}
		case "name":
			t.Name, err = p.str(v, f)
		case "kube_context":
			if t.KubeContext, err = p.str(v, f); err == nil {
				err = p.contextName(t.KubeContext, f)
			}
		case "kubeconfig":
			if t.Kubeconfig, err = p.str(v, f); err == nil && t.Kubeconfig == "" {
				err = p.fail(f, "is empty; leave it out for the default kubeconfig")
			}
		case "workload_url":
			if t.WorkloadURL, err = p.str(v, f); err == nil {
				u, perr := url.Parse(t.WorkloadURL)
				if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					err = p.fail(f, "want an http(s) URL the workload answers on, got %q", t.WorkloadURL)
				}
			}
		case "aws":
			err = p.aws(v, f)
		}
		return err
	})
}

func (p *parser) aws(n *yamlv3.Node, f field) error {
	a := &p.c.Target.AWS
	return p.mapping(n, f, []string{"account_id", "region", "endpoint", "profile", "tags", "backup_bucket", "backup_prefix"}, func(k string, f field, v *yamlv3.Node) error {
		if isNull(v) {
			return nil
		}
		var err error
		switch k {
		case "account_id":
			if a.AccountID, err = p.str(v, f); err == nil && !accountRE.MatchString(a.AccountID) {
				err = p.fail(f, "want the 12 digits of an AWS account id, got %q", a.AccountID)
			}
		case "region":
			if a.Region, err = p.str(v, f); err == nil && !regionRE.MatchString(a.Region) {
				err = p.fail(f, "want an AWS region such as eu-west-1, got %q", a.Region)
			}
		case "endpoint":
			if a.Endpoint, err = p.str(v, f); err == nil {
				u, perr := url.Parse(a.Endpoint)
				if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					err = p.fail(f, "want an http(s) URL such as http://127.0.0.1:4566, got %q", a.Endpoint)
				}
			}
		case "profile":
			if a.Profile, err = p.str(v, f); err == nil && a.Profile == "" {
				err = p.fail(f, "is empty; leave it out for the default profile")
			}
		case "backup_bucket":
			if a.BackupBucket, err = p.str(v, f); err == nil && !bucketRE.MatchString(a.BackupBucket) {
				err = p.fail(f, "want an S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-'), got %q", a.BackupBucket)
			}
		case "backup_prefix":
			if a.BackupPrefix, err = p.str(v, f); err == nil && strings.HasPrefix(a.BackupPrefix, "/") {
				err = p.fail(f, "is a key prefix inside the bucket and cannot start with '/', got %q", a.BackupPrefix)
			}
		case "tags":
			a.Tags = map[string]string{}
			err = p.mapping(v, f, nil, func(k string, f field, v *yamlv3.Node) error {
				if k == "" {
					return p.fail(f, "a tag key is empty")
				}
				if v.Kind != yamlv3.ScalarNode || isNull(v) {
					return p.fail(f, "want the tag's value, got %s", describe(v))
				}
				a.Tags[k] = v.Value
				return nil
			})
		}
		return err
	})
}

var (
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	bucketRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	kindNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,48}[a-z0-9])?$`)
	awsNameRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`)
)

// ValidName checks a target name for provider: a kind cluster's name is
// also a folder and a container name prefix, so it is kept to lower-case
// letters, digits, '-' and '.'.
func ValidName(provider, name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case provider == Kind && !kindNameRE.MatchString(name):
		return fmt.Errorf("%q is not a kind cluster name: use lower-case letters, digits, '-' and '.', up to 50 characters", name)
	case provider == AWS && !awsNameRE.MatchString(name):
		return fmt.Errorf("%q is not a cluster name: use letters, digits, '-', '_' and '.', up to 128 characters", name)
	}
	return nil
}

func (p *parser) contextName(name string, f field) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return p.fail(f, "want a kube context name without spaces, got %q", name)
	}
	return nil
}

// checkTarget checks what depends on more than one field of target:.
func (p *parser) checkTarget() error {
	t := p.c.Target
	at := func(path string) field {
		for ; path != ""; path = parentOf(path) {
			if line, ok := p.c.lines[path]; ok {
				return field{path: path, line: line}
			}
		}
		return field{path: "target", line: 1}
	}
	if err := ValidName(t.Provider, t.Name); err != nil {
		return p.fail(at("target.name"), "%v", err)
	}
	switch t.Provider {
	case Kind:
		for _, k := range []string{"target.kube_context", "target.kubeconfig", "target.workload_url", "target.aws"} {
			if _, ok := p.c.lines[k]; ok {
				return p.fail(at(k), "only for provider aws: kdrill reaches a kind cluster through the kubeconfig it keeps for it")
			}
		}
	case AWS:
		if _, ok := p.c.lines["target.name"]; !ok {
			f := at("target.name")
			f.path = "target.name"
			return p.fail(f, "required for provider aws: it is the name a person confirming a run types")
		}
		for _, k := range []string{"account_id", "region"} {
			path := "target.aws." + k
			if _, ok := p.c.lines[path]; !ok {
				f := at(path)
				f.path = path
				return p.fail(f, "required for provider aws")
			}
		}
	}
	return nil
}

func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// allow decodes the allow-list.
func (p *parser) allow(n *yamlv3.Node, f field) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yamlv3.SequenceNode {
		return p.fail(f, `want a list of targets such as "kind:lab", "context:lab-admin", "aws:123456789012", got %s`, describe(n))
	}
	p.c.Allow = []Allow{}
	for i, item := range n.Content {
		item = resolve(item)
		itf := field{path: fmt.Sprintf("%s[%d]", f.path, i), line: item.Line}
		s, err := p.str(item, itf)
		if err != nil {
			return err
		}
		a, err := ParseAllow(s)
		if err != nil {
			return p.fail(itf, "%v", err)
		}
		a.Line = item.Line
		p.c.Allow = append(p.c.Allow, a)
	}
	return nil
}

// ParseAllow reads one allow-list entry: "kind:NAME", "context:NAME" or
// "aws:ACCOUNT_ID".
func ParseAllow(s string) (Allow, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok {
		return Allow{}, fmt.Errorf(`%q: want kind:NAME, context:NAME or aws:ACCOUNT_ID`, s)
	}
	if strings.ContainsAny(name, "*?") {
		return Allow{}, fmt.Errorf("%q: no wildcards: name each target", s)
	}
	switch kind {
	case "kind":
		if err := ValidName(Kind, name); err != nil {
			return Allow{}, fmt.Errorf("%q: kind cluster name %v", s, err)
		}
	case "context":
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return Allow{}, fmt.Errorf("%q: want a kube context name without spaces", s)
		}
	case "aws":
		if !accountRE.MatchString(name) {
			return Allow{}, fmt.Errorf("%q: want the 12 digits of an AWS account id after aws:", s)
		}
	default:
		return Allow{}, fmt.Errorf("%q: unknown kind of target %q (known: kind, context, aws)", s, kind)
	}
	return Allow{Kind: kind, Name: name}, nil
}

// scenarioParams are the parameters each scenario takes.
var scenarioParams = map[string][]string{
	slo.VMShutdown: {"force"},
}

// scenarios decodes scenarios: a list of ids, or a mapping of id to
// parameters, in the order to drill them.
func (p *parser) scenarios(n *yamlv3.Node, f field) error {
	if isNull(n) {
		return nil
	}
	seen := map[string]int{}
	add := func(id string, f field) error {
		if !drill.Known(id) {
			why := "unknown scenario"
			if slo.Known(id) {
				why = "scenario that cannot be drilled yet:"
			}
			return p.fail(f, "%s %q (known: %s)", why, id, strings.Join(drill.Scenarios(), ", "))
		}
		if prev, ok := seen[id]; ok {
			return p.fail(f, "%s is listed twice (first at line %d)", id, prev)
		}
		seen[id] = f.line
		p.c.Scenarios = append(p.c.Scenarios, Scenario{ID: id})
		return nil
	}
	p.c.Scenarios = []Scenario{}
	switch n.Kind {
	case yamlv3.SequenceNode:
		for i, item := range n.Content {
			item = resolve(item)
			itf := field{path: fmt.Sprintf("%s[%d]", f.path, i), line: item.Line}
			if item.Kind == yamlv3.MappingNode {
				return p.fail(itf, "want a scenario id; to give parameters, make scenarios a mapping of id to parameters")
			}
			id, err := p.str(item, itf)
			if err != nil {
				return err
			}
			if err := add(id, itf); err != nil {
				return err
			}
		}
	case yamlv3.MappingNode:
		err := p.mapping(n, f, nil, func(id string, f field, v *yamlv3.Node) error {
			if err := add(id, f); err != nil {
				return err
			}
			s := &p.c.Scenarios[len(p.c.Scenarios)-1]
			known := scenarioParams[id]
			if len(known) == 0 {
				if isNull(v) || (v.Kind == yamlv3.MappingNode && len(v.Content) == 0) {
					return nil
				}
				if v.Kind == yamlv3.MappingNode {
					k := v.Content[0]
					return p.fail(f.child(k.Value, k.Line), "%s takes no parameters%s", id, hintFor(f.path, k.Value))
				}
				return p.fail(f, "%s takes no parameters; leave its value empty", id)
			}
			return p.mapping(v, f, known, func(k string, f field, v *yamlv3.Node) error {
				if isNull(v) {
					return nil
				}
				var err error
				switch k {
				case "force":
					s.Force, err = p.boolean(v, f)
				}
				return err
			})
		})
		if err != nil {
			return err
		}
	default:
		return p.fail(f, "want a list of scenario ids, or a mapping of id to parameters, got %s", describe(n))
	}
	if len(p.c.Scenarios) == 0 {
		return p.fail(f, "lists no scenario; leave it out to drill them all")
	}
	return nil
}

func (p *parser) mitigations(n *yamlv3.Node, f field) error {
	m := &p.c.Mitigations
	toggle := func(t *Toggle, v *yamlv3.Node, f field) error {
		return p.mapping(v, f, []string{"enabled"}, func(k string, f field, v *yamlv3.Node) error {
			if isNull(v) {
				return nil
			}
			var err error
			t.Enabled, err = p.boolean(v, f)
			return err
		})
	}
	return p.mapping(n, f, []string{"restarts", "watchdog", "backups", "reprovision"}, func(k string, f field, v *yamlv3.Node) error {
		switch k {
		case "restarts":
			return toggle(&m.Restarts, v, f)
		case "reprovision":
			return toggle(&m.Reprovision, v, f)
		case "watchdog":
			w := &m.Watchdog
			var dpField field
			err := p.mapping(v, f, []string{"enabled", "period", "datapoints", "evaluation"}, func(k string, f field, v *yamlv3.Node) error {
				if isNull(v) {
					return nil
				}
				var err error
				switch k {
				case "enabled":
					w.Enabled, err = p.boolean(v, f)
				case "period":
					if w.Period, err = p.duration(v, f); err == nil && w.Period < MinWatchdogPeriod {
						err = p.fail(f, "must be at least %s, got %s", MinWatchdogPeriod, w.Period)
					}
				case "datapoints":
					w.Datapoints, err = p.integer(v, f, 1, MaxDebounce)
					dpField = f
				case "evaluation":
					w.Evaluation, err = p.integer(v, f, 1, MaxDebounce)
				}
				return err
			})
			if err == nil && w.Datapoints > w.Evaluation {
				if dpField.path == "" {
					dpField = f.child("evaluation", p.c.lines[f.path+".evaluation"])
				}
				err = p.fail(dpField, "datapoints (%d) must not exceed evaluation (%d): the watchdog counts failures among the last evaluation checks", w.Datapoints, w.Evaluation)
			}
			return err
		case "backups":
			b := &m.Backups
			return p.mapping(v, f, []string{"enabled", "interval"}, func(k string, f field, v *yamlv3.Node) error {
				if isNull(v) {
					return nil
				}
				var err error
				switch k {
				case "enabled":
					b.Enabled, err = p.boolean(v, f)
				case "interval":
					if b.Interval, err = p.duration(v, f); err == nil && b.Interval < MinBackupInterval {
						err = p.fail(f, "must be at least %s, got %s", MinBackupInterval, b.Interval)
					}
				}
				return err
			})
		}
		return nil
	})
}

func (p *parser) probes(n *yamlv3.Node, f field) error {
	pr := &p.c.Probes
	return p.mapping(n, f, []string{"data_plane_rate", "debounce"}, func(k string, f field, v *yamlv3.Node) error {
		if isNull(v) {
			return nil
		}
		var err error
		switch k {
		case "data_plane_rate":
			if pr.DataPlaneRate, err = p.number(v, f); err == nil && (pr.DataPlaneRate <= 0 || pr.DataPlaneRate > MaxDataPlaneRate) {
				err = p.fail(f, "must be above 0 and at most %d requests per second, got %v", MaxDataPlaneRate, pr.DataPlaneRate)
			}
		case "debounce":
			pr.Debounce, err = p.integer(v, f, 1, MaxDebounce)
		}
		return err
	})
}

// describe names the YAML type of n for messages.
func describe(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "a mapping"
	case yamlv3.SequenceNode:
		return "a list"
	case yamlv3.AliasNode:
		return "an alias"
	case yamlv3.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!timestamp":
		return "a date"
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + n.ShortTag()
}

// describeValue is describe with the value itself for short scalars.
func describeValue(n *yamlv3.Node) string {
	if n.Kind == yamlv3.ScalarNode && !isNull(n) && len(n.Value) <= 40 {
		return describe(n) + " " + strconv.Quote(n.Value)
	}
	return describe(n)
}

func isNull(n *yamlv3.Node) bool {
	n = resolve(n)
	return n.Kind == 0 || (n.Kind == yamlv3.ScalarNode && n.ShortTag() == "!!null")
}

func resolve(n *yamlv3.Node) *yamlv3.Node {
	for i := 0; n.Kind == yamlv3.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

var lineRE = regexp.MustCompile(`line (\d+):?\s*`)

// yamlErrorLine pulls the line number out of the YAML parser's message.
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := lineRE.FindStringSubmatchIndex(msg)
	if m == nil {
		return 0, msg
	}
	line, _ := strconv.Atoi(msg[m[2]:m[3]])
	return line, msg[:m[0]] + msg[m[1]:]
}

// locate finds the line of a YAML error whose message gives none: the
// first byte the parser cannot read, or the first use of an unknown
// anchor. Failing those it is the first line, where the parser began.
func locate(data []byte, msg string) int {
	at := -1
	switch {
	case strings.Contains(msg, "control characters"):
		at = bytes.IndexFunc(data, func(r rune) bool {
			return (r < ' ' && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f && r != 0x85)
		})
	case strings.Contains(msg, "UTF-8"):
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				at = i
				break
			}
			i += n
		}
	case strings.HasPrefix(msg, "unknown anchor '"):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "unknown anchor '"), "'")
		at = bytes.Index(data, []byte("*"+name))
	}
	if at < 0 {
		return 1
	}
	return 1 + bytes.Count(data[:at], []byte("\n"))
}

// duplicateKey finds a mapping key defined twice and returns the lines of
// both, or zeros. The parser lets duplicates pass; a config that says two
// things about one field is a mistake.
func duplicateKey(n *yamlv3.Node) (line int, key string, prev int) {
	if n.Kind == yamlv3.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yamlv3.ScalarNode && k.ShortTag() != "!!merge" {
				if p, ok := seen[k.Value]; ok {
					return k.Line, k.Value, p
				}
				seen[k.Value] = k.Line
			}
		}
	}
	for _, c := range n.Content {
		if line, key, prev := duplicateKey(c); line > 0 {
			return line, key, prev
		}
	}
	return 0, "", 0
}
