package awslocal

import (
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
)

// members reads a query-protocol list: prefix.1..., prefix.2..., in index
// order, each as the values below it (prefix.N.Name is "Name"; a scalar
// list item prefix.N is "").
func members(form url.Values, prefix string) []url.Values {
	byIndex := map[int]url.Values{}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, sub, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = url.Values{}
		}
		byIndex[n][sub] = v
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]url.Values, len(idx))
	for i, n := range idx {
		out[i] = byIndex[n]
	}
	return out
}

// strList reads a query-protocol list of strings.
func strList(form url.Values, prefix string) []string {
	var out []string
	for _, m := range members(form, prefix) {
		out = append(out, m.Get(""))
	}
	return out
}

// sub returns the values below prefix (prefix.Name is "Name").
func sub(form url.Values, prefix string) url.Values {
	out := url.Values{}
	for k, v := range form {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			out[rest] = v
		}
	}
	return out
}

// filter is one EC2 Filter: a name and the values any of which may match.
type filter struct {
	name   string
	values []string
}

func filters(form url.Values) []filter {
	var out []filter
	for _, m := range members(form, "Filter") {
		out = append(out, filter{name: m.Get("Name"), values: strList(m, "Value")})
	}
	return out
}

// matches reports whether any of the filter's values matches v. Values may
// use EC2's wildcards: * for any run of characters, ? for one.
func (f filter) matches(v ...string) bool {
	for _, want := range f.values {
		for _, got := range v {
			if ok, err := path.Match(escapeGlob(want), got); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// escapeGlob keeps EC2's wildcards (* and ?, with \ escaping them) and makes
// everything else literal for path.Match.
func escapeGlob(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteByte('\\')
				b.WriteByte(p[i])
			} else {
				b.WriteString(`\\`)
			}
		case '[', ']':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// matchTags applies the tag filters (tag:<key>, tag-key, tag-value);
// handled is false for any other filter name.
func matchTags(f filter, tags map[string]string) (ok, handled bool) {
	switch {
	case strings.HasPrefix(f.name, "tag:"):
		v, has := tags[strings.TrimPrefix(f.name, "tag:")]
		return has && f.matches(v), true
	case f.name == "tag-key":
		for k := range tags {
			if f.matches(k) {
				return true, true
			}
		}
		return false, true
	case f.name == "tag-value":
		for _, v := range tags {
			if f.matches(v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
