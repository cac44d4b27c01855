package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/smithy-go/middleware"

	"github.com/kdrill/kdrill/harness"
)

// ErrDryRun is wrapped by the error of every mutating AWS call made in a dry
// run: the call was written to Options.DryRunOut and not sent. It is
// harness.ErrDryRun, so drills can tell a held-back call from a failure.
var ErrDryRun = harness.ErrDryRun

// readOnly reports whether an operation only reads, by the naming AWS keeps
// across services. Read-only calls go out even in a dry run.
func readOnly(op string) bool {
	for _, prefix := range []string{"Describe", "List", "Get", "Head"} {
		if strings.HasPrefix(op, prefix) {
			return true
		}
	}
	return false
}

// dryRunMiddleware is added to every client's stack in a dry run. It sits
// in the Initialize step, after input validation and before anything is
// signed or sent, and stops mutating operations there.
func dryRunMiddleware(w io.Writer) func(*middleware.Stack) error {
	d := &dryRun{w: w}
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(d, middleware.After)
	}
}

type dryRun struct {
	mu sync.Mutex // one line at a time from concurrent calls
	w  io.Writer
}

func (d *dryRun) ID() string { return "kdrill.DryRun" }

func (d *dryRun) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	op := middleware.GetOperationName(ctx)
	if readOnly(op) {
		return next.HandleInitialize(ctx, in)
	}
	svc := strings.ToLower(strings.ReplaceAll(middleware.GetServiceID(ctx), " ", ""))
	line := fmt.Sprintf("aws %s %s %s\n", svc, op, redactPresigned(compactJSON(in.Parameters)))
	d.mu.Lock()
	_, err := io.WriteString(d.w, line)
	d.mu.Unlock()
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("aws %s %s: write dry run: %w", svc, op, err)
	}
	return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("aws %s %s: %w", svc, op, ErrDryRun)
}

// presignedSecret matches the parts of a presigned URL that let whoever
// holds it make the request: its signature and, with temporary
// credentials, the session token. A dry run's output ends up in tickets
// and chat, so they are left out of it.
var presignedSecret = regexp.MustCompile(`(X-Amz-(?:Signature|Security-Token)=)[^&"'\\\s]+`)

func redactPresigned(s string) string {
	return presignedSecret.ReplaceAllString(s, "${1}REDACTED")
}

// compactJSON renders an operation's input without the fields left unset:
// nulls, empty strings, lists and objects.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprintf("%+v", v))
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return string(b)
	}
	tree, _ = prune(tree)
	if tree == nil {
		return "{}"
	}
	b, _ = json.Marshal(tree)
	return string(b)
}

// prune drops empty values; it reports whether v itself is empty.
func prune(v any) (any, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return t, t == ""
	case []any:
		out := t[:0]
		for _, e := range t {
			if pe, empty := prune(e); !empty {
				out = append(out, pe)
			}
		}
		return out, len(out) == 0
	case map[string]any:
		for k, e := range t {
			if pe, empty := prune(e); empty {
				delete(t, k)
			} else {
				t[k] = pe
			}
		}
		return t, len(t) == 0
	default:
		return v, false
	}
}
