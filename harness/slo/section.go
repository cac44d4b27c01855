package slo

import (
	"encoding/json"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/kdrill/kdrill/harness/input"
)

// ParseSection reads the SLOs held under key, a top-level key of a larger
// YAML file (the slo: of kdrill.yaml), by the rules of Parse. Errors are
// located in the whole file: their lines count from its top, and their
// fields start with key ("slo.scenarios.vm-shutdown.max_rto"). A missing or
// empty section is an empty Config.
func ParseSection(file string, data []byte, key string) (*Config, error) {
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
	if line, k, prev := duplicateKey(&doc); line > 0 {
		return nil, input.Errorf(file, line, "", "malformed YAML: key %q already defined at line %d", k, prev)
	}
	if isNull(&doc) {
		return &Config{}, nil
	}
	loc := locator{root: &doc}
	top, err := object(js)
	if err != nil {
		return nil, input.Errorf(file, loc.line(nil), "", "want a mapping, got %s", err)
	}
	raw, ok := top[key]
	if !ok || string(raw) == "null" {
		return &Config{}, nil
	}
	fail := func(path []string, format string, args ...any) error {
		return input.Errorf(file, loc.line(path), strings.Join(path, "."), format, args...)
	}
	return decodeConfig(raw, []string{key}, fail)
}

// decodeConfig decodes one SLO mapping (defaults and scenarios) found at
// path, the way Parse decodes a whole SLO file.
func decodeConfig(raw json.RawMessage, path []string, fail func([]string, string, ...any) error) (*Config, error) {
	at := func(p ...string) []string { return append(slices.Clone(path), p...) }
	top, err := object(raw)
	if err != nil {
		return nil, fail(path, "want a mapping with defaults and scenarios, got %s", err)
	}
	c := &Config{}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "defaults":
			if c.Defaults, err = bounds(v, at(k), fail); err != nil {
				return nil, err
			}
		case "scenarios":
			if string(v) == "null" {
				continue
			}
			ids, err := object(v)
			if err != nil {
				return nil, fail(at(k), "want a mapping of scenario id to bounds, got %s", err)
			}
			c.Scenarios = map[string]Bounds{}
			for _, id := range sortedKeys(ids) {
				if !Known(id) {
					return nil, fail(at(k, id), "unknown scenario id %q (known: %s)", id, strings.Join(Scenarios(), ", "))
				}
				if c.Scenarios[id], err = bounds(ids[id], at(k, id), fail); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fail(at(k), "unknown field (known: defaults, scenarios)")
		}
	}
	if errs := c.check(); len(errs) > 0 {
		return nil, fail(at(errs[0].path...), "%s", errs[0].msg)
	}
	return c, nil
}
