package config

import (
	"fmt"
	"strings"
)

// Facts are what kdrill found out about a target before acting on it.
type Facts struct {
	// CreatedByKdrill is true when a kind cluster carries the marker
	// 'kdrill cluster up' leaves in its state folder.
	CreatedByKdrill bool
	// Marker is where that marker would be, for messages.
	Marker string
	// AWSAccount is the account the AWS credentials reach; empty while
	// kdrill cannot tell.
	AWSAccount string
	// Interactive is true when a person can answer on standard input.
	Interactive bool
}

// Decision is the guard letting a run go on.
type Decision struct {
	// Because says why the target may be drilled, for the log.
	Because string
	// Confirm, when not empty, is the name a person must type before
	// anything is injected.
	Confirm string
}

// RefusedError is the guard refusing a target. It is a usage error: the
// message says what would make the target acceptable.
type RefusedError struct {
	Target string // what was refused, in words
	Reason string
}

func (e *RefusedError) Error() string {
	return "refusing to drill " + e.Target + ": " + e.Reason
}

// Describe names the target in words, for messages and prompts.
func (t Target) Describe() string {
	switch t.Provider {
	case AWS:
		s := fmt.Sprintf("AWS cluster %q in account %s", t.Name, t.AWS.AccountID)
		if t.AWS.Region != "" {
			s += " (" + t.AWS.Region + ")"
		}
		return s
	default:
		return fmt.Sprintf("kind cluster %q", t.Name)
	}
}

// Guard decides whether kdrill may drill target t. A kind cluster may be
// drilled when kdrill created it or the allow-list names it ("kind:NAME").
// Any other target must be allow-listed by every name it has (its AWS
// account, and its kube context if it has one), and, as it is not a
// throwaway local cluster, needs yes (--yes) or a person to confirm by
// typing its name: Decision.Confirm then holds that name. Guard only
// decides; it reads and asks nothing.
func Guard(t Target, allow []Allow, f Facts, yes bool) (Decision, error) {
	refuse := func(format string, args ...any) (Decision, error) {
		return Decision{}, &RefusedError{Target: t.Describe(), Reason: fmt.Sprintf(format, args...)}
	}
	switch t.Provider {
	case Kind, "":
		if f.CreatedByKdrill {
			return Decision{Because: "kdrill created it"}, nil
		}
		if a, ok := allowed(allow, "kind", t.Name); ok {
			return Decision{Because: allowedBecause(a)}, nil
		}
		marker := ""
		if f.Marker != "" {
			marker = " (no marker naming it at " + f.Marker + ")"
		}
		return refuse(`kdrill did not create it%s and no allow-list names it; create it with 'kdrill cluster up --name %s', or add "kind:%s" to allow: in the --config file`, marker, t.Name, t.Name)
	case AWS:
		acct := t.AWS.AccountID
		if f.AWSAccount != "" && f.AWSAccount != acct {
			return refuse("the AWS credentials reach account %s, not the config's target.aws.account_id %s", f.AWSAccount, acct)
		}
		a, ok := allowed(allow, "aws", acct)
		if !ok {
			return refuse(`AWS account %s is not in the allow-list; if it is meant for drills, add "aws:%s" to allow:`, acct, acct)
		}
		because := []string{allowedBecause(a)}
		if t.KubeContext != "" {
			c, ok := allowed(allow, "context", t.KubeContext)
			if !ok {
				return refuse(`kube context %q is not in the allow-list; add "context:%s" to allow:`, t.KubeContext, t.KubeContext)
			}
			because = append(because, allowedBecause(c))
		}
		d := Decision{Because: strings.Join(because, ", ")}
		switch {
		case yes:
			d.Because += ", confirmed by --yes"
		case f.Interactive:
			d.Confirm = t.Name
		default:
			return refuse("a run against a target that is not a local kind cluster needs --yes, or a person at a terminal to confirm by typing the target's name")
		}
		return d, nil
	default:
		return refuse("unknown provider %q (known: kind, aws)", t.Provider)
	}
}

// CheckConfirmation checks what a person typed when asked to confirm a run
// on t by typing its name; ok is false when standard input ended instead.
func CheckConfirmation(t Target, typed string, ok bool) error {
	if !ok {
		return &RefusedError{Target: t.Describe(), Reason: "not confirmed: standard input ended before the target's name was typed"}
	}
	if got := strings.TrimSpace(typed); got != t.Name {
		return &RefusedError{Target: t.Describe(), Reason: fmt.Sprintf("not confirmed: typed %q, not the target's name %q", got, t.Name)}
	}
	return nil
}

func allowed(list []Allow, kind, name string) (Allow, bool) {
	for _, a := range list {
		if a.Kind == kind && a.Name == name {
			return a, true
		}
	}
	return Allow{}, false
}

func allowedBecause(a Allow) string {
	if a.Line > 0 {
		return fmt.Sprintf("allow-listed as %s (line %d)", a, a.Line)
	}
	return "allow-listed as " + a.String()
}
