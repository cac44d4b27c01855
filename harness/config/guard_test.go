package config

import (
	"errors"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	kindLab := Target{Provider: Kind, Name: "lab"}
	awsLab := Target{Provider: AWS, Name: "lab", AWS: AWSTarget{AccountID: "123456789012", Region: "eu-west-1"}}
	awsCtx := awsLab
	awsCtx.KubeContext = "lab-admin@lab"
	allowAll := []Allow{{Kind: "kind", Name: "lab", Line: 3}, {Kind: "aws", Name: "123456789012", Line: 4}, {Kind: "context", Name: "lab-admin@lab", Line: 5}}
	tests := []struct {
		name    string
		target  Target
		allow   []Allow
		facts   Facts
		yes     bool
		because string // substring of Decision.Because
		confirm string
		refused string // substring of the refusal; empty when allowed
	}{
		// kind
		{name: "kind created by kdrill", target: kindLab, facts: Facts{CreatedByKdrill: true}, because: "kdrill created it"},
		{name: "kind allow-listed", target: kindLab, allow: allowAll, because: "allow-listed as kind:lab (line 3)"},
		{name: "kind neither", target: kindLab, facts: Facts{Marker: "/s/clusters/lab/created-by-kdrill.json"},
			refused: `refusing to drill kind cluster "lab": kdrill did not create it (no marker naming it at /s/clusters/lab/created-by-kdrill.json) and no allow-list names it; create it with 'kdrill cluster up --name lab', or add "kind:lab" to allow: in the --config file`},
		{name: "kind allow-list names another", target: kindLab, allow: []Allow{{Kind: "kind", Name: "lab2"}, {Kind: "context", Name: "lab"}}, refused: "kdrill did not create it"},
		{name: "kind needs no confirmation", target: kindLab, facts: Facts{CreatedByKdrill: true, Interactive: true}, because: "kdrill created it"},
		{name: "empty provider is kind", target: Target{Name: "lab"}, facts: Facts{CreatedByKdrill: true}, because: "kdrill created it"},

		// aws
		{name: "aws allowed with --yes", target: awsLab, allow: allowAll, yes: true, because: "allow-listed as aws:123456789012 (line 4), confirmed by --yes"},
		{name: "aws allowed asks a person", target: awsLab, allow: allowAll, facts: Facts{Interactive: true}, confirm: "lab"},
		{name: "aws without --yes non-interactive", target: awsLab, allow: allowAll,
			refused: "needs --yes, or a person at a terminal to confirm by typing the target's name"},
		{name: "aws account not allowed", target: awsLab, allow: []Allow{{Kind: "aws", Name: "999999999999"}}, yes: true,
			refused: `refusing to drill AWS cluster "lab" in account 123456789012 (eu-west-1): AWS account 123456789012 is not in the allow-list; if it is meant for drills, add "aws:123456789012" to allow:`},
		{name: "aws no allow-list", target: awsLab, yes: true, refused: "is not in the allow-list"},
		{name: "aws marker does not count", target: awsLab, facts: Facts{CreatedByKdrill: true}, yes: true, refused: "is not in the allow-list"},
		{name: "aws credentials reach another account", target: awsLab, allow: allowAll, facts: Facts{AWSAccount: "999999999999"}, yes: true,
			refused: "the AWS credentials reach account 999999999999, not the config's target.aws.account_id 123456789012"},
		{name: "aws credentials reach the account", target: awsLab, allow: allowAll, facts: Facts{AWSAccount: "123456789012"}, yes: true, because: "aws:123456789012"},
		{name: "aws context allowed", target: awsCtx, allow: allowAll, yes: true, because: "allow-listed as context:lab-admin@lab (line 5)"},
		{name: "aws context not allowed", target: awsCtx, allow: allowAll[:2], yes: true,
			refused: `kube context "lab-admin@lab" is not in the allow-list; add "context:lab-admin@lab" to allow:`},

		{name: "unknown provider", target: Target{Provider: "gcp", Name: "lab"}, yes: true, refused: `unknown provider "gcp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Guard(tt.target, tt.allow, tt.facts, tt.yes)
			if tt.refused != "" {
				var re *RefusedError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("Guard() = %+v, %v; want a refusal containing %q", d, err, tt.refused)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("refusal spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Guard() refused: %v", err)
			}
			if d.Confirm != tt.confirm || !strings.Contains(d.Because, tt.because) {
				t.Errorf("Guard() = %+v, want Confirm %q and Because containing %q", d, tt.confirm, tt.because)
			}
		})
	}
}

func TestCheckConfirmation(t *testing.T) {
	target := Target{Provider: AWS, Name: "lab", AWS: AWSTarget{AccountID: "123456789012"}}
	tests := []struct {
		typed   string
		ok      bool
		refused string
	}{
		{"lab", true, ""},
		{"  lab \r", true, ""},
		{"Lab", true, `not confirmed: typed "Lab", not the target's name "lab"`},
		{"", true, `typed "", not the target's name "lab"`},
		{"yes", true, `typed "yes"`},
		{"", false, "not confirmed: standard input ended before the target's name was typed"},
	}
	for _, tt := range tests {
		err := CheckConfirmation(target, tt.typed, tt.ok)
		switch {
		case tt.refused == "" && err != nil:
			t.Errorf("CheckConfirmation(%q, %v) = %v", tt.typed, tt.ok, err)
		case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
			t.Errorf("CheckConfirmation(%q, %v) = %v, want %q", tt.typed, tt.ok, err, tt.refused)
		}
		var re *RefusedError
		if err != nil && !errors.As(err, &re) {
			t.Errorf("CheckConfirmation(%q) = %T, want a *RefusedError", tt.typed, err)
		}
	}
}
