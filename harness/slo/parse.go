package slo

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/kdrill/kdrill/harness/input"
)

// Load reads an SLO file. Every mistake in it is an *input.Error naming the
// file, the line and the field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &input.Error{File: path, Err: fmt.Errorf("read SLO file: %w", err)}
	}
	return Parse(path, data)
}

// Parse reads SLOs from YAML data; file names the data in errors. An SLO file
// looks like this, every key optional:
//
//	defaults:                 # every scenario
//	  min_data_plane_availability: 0.999
//	scenarios:
//	  apiserver-crash:
//	    max_rto: 45s
//	  etcd-data-loss:
//	    max_rpo: 10m
//	    max_lost_acknowledged_writes: 600
func Parse(file string, data []byte) (*Config, error) {
	// The YAML is parsed twice: by sigs.k8s.io/yaml for the values (as
	// the rest of the Kubernetes world reads YAML), and into a node tree
	// only to put line numbers on errors and to catch duplicate keys, which
	// the first lets pass.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		line, msg := yamlErrorLine(err)
		return nil, input.Errorf(file, line, "", "malformed YAML: %s", msg)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		return nil, input.Errorf(file, line, "", "malformed YAML: %s", msg)
	}
	if line, key, prev := duplicateKey(&doc); line > 0 {
		return nil, input.Errorf(file, line, "", "malformed YAML: key %q already defined at line %d", key, prev)
	}
	loc := locator{root: &doc}
	c := &Config{}
	if isNull(&doc) {
		return c, nil
	}
	top, err := object(js)
	if err != nil {
		return nil, input.Errorf(file, loc.line(nil), "", "want a mapping with defaults and scenarios, got %s", err)
	}
	fail := func(path []string, format string, args ...any) error {
		return input.Errorf(file, loc.line(path), strings.Join(path, "."), format, args...)
	}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "defaults":
			if c.Defaults, err = bounds(v, []string{k}, fail); err != nil {
				return nil, err
			}
		case "scenarios":
			if string(v) == "null" {
				continue
			}
			ids, err := object(v)
			if err != nil {
				return nil, fail([]string{k}, "want a mapping of scenario id to bounds, got %s", err)
			}
			c.Scenarios = map[string]Bounds{}
			for _, id := range sortedKeys(ids) {
				path := []string{k, id}
				if !Known(id) {
					return nil, fail(path, "unknown scenario id %q (known: %s)", id, strings.Join(Scenarios(), ", "))
				}
				if c.Scenarios[id], err = bounds(ids[id], path, fail); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fail([]string{k}, "unknown field (known: defaults, scenarios)")
		}
	}
	if errs := c.check(); len(errs) > 0 {
		return nil, fail(errs[0].path, "%s", errs[0].msg)
	}
	return c, nil
}

// boundFields are the keys of Bounds, from its JSON tags.
var boundFields = []string{
	"max_rto", "min_data_plane_availability", "max_lost_acknowledged_writes",
	"max_rpo", "max_rpo_backup_intervals",
}

// bounds decodes one mapping of bounds, field by field so that an error can
// name its field.
func bounds(raw json.RawMessage, path []string, fail func([]string, string, ...any) error) (Bounds, error) {
	var b Bounds
	if string(raw) == "null" {
		return b, nil // an empty entry sets nothing
	}
	fields, err := object(raw)
	if err != nil {
		return b, fail(path, "want a mapping of bounds (%s), got %s", strings.Join(boundFields, ", "), err)
	}
	for _, k := range sortedKeys(fields) {
		v := fields[k]
		p := append(slices.Clone(path), k)
		if string(v) == "null" {
			continue // an empty value sets nothing
		}
		var err error
		switch k {
		case "max_rto":
			b.MaxRTO, err = decode[Duration](v)
		case "max_rpo":
			b.MaxRPO, err = decode[Duration](v)
		case "min_data_plane_availability":
			b.MinDataPlaneAvailability, err = number(v)
		case "max_rpo_backup_intervals":
			b.MaxRPOBackupIntervals, err = number(v)
		case "max_lost_acknowledged_writes":
			b.MaxLostAcknowledgedWrites, err = decode[int](v)
			if err != nil {
				err = fmt.Errorf("want a whole number, got %s", v)
			}
		default:
			return b, fail(p, "unknown field (known: %s)", strings.Join(boundFields, ", "))
		}
		if err != nil {
			return b, fail(p, "%v", err)
		}
	}
	return b, nil
}

func decode[T any](raw json.RawMessage) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

func number(raw json.RawMessage) (*float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("want a number, got %s", raw)
	}
	return &f, nil
}

// object decodes a JSON object into its members, or says what raw is instead.
func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s", kindOf(raw))
	}
	return m, nil
}

func kindOf(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null":
		return "nothing"
	case strings.HasPrefix(s, "["):
		return "a list"
	case strings.HasPrefix(s, `"`):
		return "a string"
	case s == "true" || s == "false":
		return "a boolean"
	default:
		return "a number"
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func isNull(doc *yamlv3.Node) bool {
	return doc.Kind == 0 || (doc.Kind == yamlv3.DocumentNode && len(doc.Content) == 0) ||
		(doc.Kind == yamlv3.DocumentNode && doc.Content[0].Tag == "!!null")
}

var lineRE = regexp.MustCompile(`line (\d+):?\s*`)

// yamlErrorLine pulls the line number out of a YAML parser's message.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	m := lineRE.FindStringSubmatchIndex(msg)
	if m == nil {
		return 0, msg
	}
	line, _ := strconv.Atoi(msg[m[2]:m[3]])
	return line, msg[:m[0]] + msg[m[1]:]
}

// locator finds the line of a path of mapping keys in a YAML node tree.
type locator struct{ root *yamlv3.Node }

// line returns the line of the last key of path that exists (the whole
// document for an empty path), or 0.
func (l locator) line(path []string) int {
	n := l.root
	if n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, k := range path {
		n = resolve(n)
		if n.Kind != yamlv3.MappingNode {
			return line
		}
		var next *yamlv3.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line, next = n.Content[i].Line, n.Content[i+1]
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// duplicateKey finds a mapping key defined twice and returns the lines of
// both, or zeros.
func duplicateKey(n *yamlv3.Node) (line int, key string, prev int) {
	if n.Kind == yamlv3.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yamlv3.ScalarNode && k.Value != "<<" {
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

func resolve(n *yamlv3.Node) *yamlv3.Node {
	for n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
