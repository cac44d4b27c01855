package reports

import (
	"fmt"
	"strings"

	"github.com/kdrill/kdrill/harness/slo"
)

// figures is a check's numbers as a person reads them.
type figures struct {
	Measured string // "45.747 s", "99.5 %", "not measured"
	Bound    string // "≤ 60 s", "≥ 99.5 %"
	Margin   string // "+14.253 s", "−0.4 pp", "" when there is none
	Exact    string // the measured value at full precision, "" if none
}

// checkFigures formats a check. Units other than the ones slo evaluates
// (a scenario's own expectations have unit "expectation") still render.
func checkFigures(c slo.Check) figures {
	op := map[string]string{"max": "≤ ", "min": "≥ "}[c.Kind]
	var f figures
	if c.Measured != nil {
		f.Exact = exact(*c.Measured)
	}
	switch c.Unit {
	case "seconds":
		f.Bound = op + seconds(c.Bound)
		if c.Measured != nil {
			f.Measured = seconds(*c.Measured)
		}
		if c.Margin != nil {
			f.Margin = signed(*c.Margin, 3) + " s"
		}
	case "ratio":
		if c.Measured != nil {
			var b string
			f.Measured, b = percentPair(*c.Measured, c.Bound)
			f.Bound = op + b
		} else {
			f.Bound = op + percent(c.Bound)
		}
		if c.Margin != nil {
			f.Margin = signed(*c.Margin*100, 4) + " pp"
		}
	case "writes":
		f.Bound = op + num(c.Bound, 3)
		if c.Measured != nil {
			f.Measured = num(*c.Measured, 3)
		}
		if c.Margin != nil {
			f.Margin = signed(*c.Margin, 3)
		}
	case "expectation":
		f.Bound = "must hold"
		if c.Measured != nil {
			f.Measured = map[bool]string{true: "held", false: "did not hold"}[*c.Measured >= c.Bound]
		}
	default:
		unit := ""
		if c.Unit != "" {
			unit = " " + c.Unit
		}
		f.Bound = op + num(c.Bound, 6) + unit
		if c.Measured != nil {
			f.Measured = num(*c.Measured, 6) + unit
		}
		if c.Margin != nil {
			f.Margin = signed(*c.Margin, 6) + unit
		}
	}
	if c.Measured == nil {
		f.Measured = "not measured"
	}
	return f
}

// signed formats v with an explicit sign: "+14.253", "−0.4".
func signed(v float64, prec int) string {
	s := num(v, prec)
	switch {
	case s == "0":
		return "0"
	case strings.HasPrefix(s, "-"):
		return "−" + s[1:]
	}
	return "+" + s
}

// checkLine says in one line what a check found, naming the bound and the
// measurement: "rto: 75.2 s, bound ≤ 60 s, missed by 15.2 s".
func checkLine(c slo.Check) string {
	f := checkFigures(c)
	var s string
	switch {
	case c.Unit == "expectation":
		s = fmt.Sprintf("%s: %s", c.Name, f.Measured)
	case c.Measured == nil:
		s = fmt.Sprintf("%s: not measured, bound %s", c.Name, f.Bound)
	default:
		s = fmt.Sprintf("%s: measured %s, bound %s", c.Name, f.Measured, f.Bound)
		if f.Margin != "" && c.Verdict == slo.Fail {
			s += ", missed by " + strings.TrimPrefix(strings.TrimPrefix(f.Margin, "−"), "+")
		} else if f.Margin != "" {
			s += ", margin " + f.Margin
		}
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}
