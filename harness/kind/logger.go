package kind

import (
	"fmt"
	"io"
	"strings"
	"sync"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// progressLogger turns kind's user-facing messages into plain progress lines;
// debug levels are dropped.
type progressLogger struct {
	mu sync.Mutex
	w  io.Writer
}

var _ kindlog.Logger = (*progressLogger)(nil)

func (l *progressLogger) line(prefix, msg string) {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s%s\n", prefix, msg)
}

func (l *progressLogger) Warn(m string)                     { l.line("warning: ", m) }
func (l *progressLogger) Warnf(f string, a ...interface{})  { l.line("warning: ", fmt.Sprintf(f, a...)) }
func (l *progressLogger) Error(m string)                    { l.line("error: ", m) }
func (l *progressLogger) Errorf(f string, a ...interface{}) { l.line("error: ", fmt.Sprintf(f, a...)) }

func (l *progressLogger) V(level kindlog.Level) kindlog.InfoLogger {
	return infoLogger{l: l, on: level <= 0}
}

type infoLogger struct {
	l  *progressLogger
	on bool
}

func (i infoLogger) Info(m string) {
	if i.on {
		i.l.line("  ", m)
	}
}

func (i infoLogger) Infof(f string, a ...interface{}) {
	if i.on {
		i.l.line("  ", fmt.Sprintf(f, a...))
	}
}

func (i infoLogger) Enabled() bool { return i.on }
