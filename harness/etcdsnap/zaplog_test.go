package etcdsnap

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestZapLoggerWritesToSlog(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level // the handler's minimum
		log   func(*zap.Logger)
		want  string // "" when nothing may be written
	}{
		{"info with fields", slog.LevelInfo, func(l *zap.Logger) {
			l.Info("restoring snapshot", zap.String("path", "/s.db"), zap.Uint64("initial-memory-map-size", 0))
		}, `level=INFO msg="restoring snapshot" initial-memory-map-size=0 path=/s.db`},
		{"fields from With come first", slog.LevelInfo, func(l *zap.Logger) {
			l.With(zap.String("member", "m1")).Warn("slow", zap.Duration("took", 2*time.Second))
		}, `level=WARN msg=slow member=m1 took=2s`},
		{"errors", slog.LevelInfo, func(l *zap.Logger) {
			l.Error("failed", zap.Error(errors.New("boom")))
		}, `level=ERROR msg=failed error=boom`},
		{"named logger", slog.LevelInfo, func(l *zap.Logger) {
			l.Named("backend").Info("opened")
		}, `level=INFO msg=opened logger=backend`},
		{"debug filtered by the handler", slog.LevelInfo, func(l *zap.Logger) {
			l.Debug("noise")
		}, ""},
		{"debug kept when the handler wants it", slog.LevelDebug, func(l *zap.Logger) {
			l.Debug("detail")
		}, `level=DEBUG msg=detail`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level: tt.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			})
			tt.log(newZapLogger(slog.New(h)))
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("logged %q, want %q", got, tt.want)
			}
		})
	}
}
