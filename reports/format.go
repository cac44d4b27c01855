package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// num formats v with at most prec decimals, trailing zeros trimmed.
func num(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// exact is v at full precision, for title attributes next to rounded figures.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// seconds formats a duration in seconds to the millisecond: "45.747 s".
func seconds(v float64) string { return num(v, 3) + " s" }

// percent formats a ratio 0..1 as a percentage with up to three decimals:
// "99.5 %". A ratio that is not 1 never shows as "100 %".
func percent(v float64) string {
	for prec := 3; prec <= 8; prec++ {
		s := num(v*100, prec)
		if s != "100" || v == 1 {
			return s + " %"
		}
	}
	return num(v*100, 10) + " %"
}

// percentPair formats a measured ratio and its bound with the same number of
// decimals, enough for them to differ when they do (99.49999 % must not read
// as its bound 99.5 %).
func percentPair(measured, bound float64) (string, string) {
	for prec := 3; prec <= 10; prec++ {
		m, b := num(measured*100, prec), num(bound*100, prec)
		if (m != b || measured == bound) && (m != "100" || measured == 1) {
			return m + " %", b + " %"
		}
	}
	return percent(measured), percent(bound)
}

// rel formats an offset from the fault in seconds: "+45.747 s", "−7.336 s",
// "+12 min 05.123 s".
func rel(v float64) string {
	sign := "+"
	if v < 0 {
		sign = "−"
		v = -v
	}
	// Round first so 59.9996 becomes "+1 min", not "+60 s".
	v = math.Round(v*1000) / 1000
	if v < 60 {
		if v == 0 {
			return "0 s"
		}
		return sign + num(v, 3) + " s"
	}
	m := math.Floor(v / 60)
	s := v - m*60
	if s == 0 {
		return fmt.Sprintf("%s%d min", sign, int(m))
	}
	ss := num(s, 3)
	if s < 10 {
		ss = "0" + ss
	}
	return fmt.Sprintf("%s%d min %s s", sign, int(m), ss)
}

// span formats a length of time in seconds for prose: "45.7 s", "12 min 5 s".
func span(v float64) string {
	if v < 60 {
		return num(v, 1) + " s"
	}
	d := time.Duration(math.Round(v)) * time.Second
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d h %d min %d s", h, m, s)
	case s == 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d min %d s", m, s)
}

// latency formats seconds as milliseconds: "2.175 ms".
func latency(v float64) string {
	if v >= 1 {
		return num(v, 3) + " s"
	}
	return num(v*1000, 3) + " ms"
}

// count formats an integer with thousands separators: "100,000".
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
