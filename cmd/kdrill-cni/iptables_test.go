package main

import (
	"errors"
	"slices"
	"testing"
)

func TestChooseIPTablesMode(t *testing.T) {
	tests := []struct {
		name        string
		legacy, nft int
		want        iptablesMode
	}{
		{name: "fresh node defaults to nft", legacy: 0, nft: 0, want: modeNFT},
		{name: "kube-proxy on nft", legacy: 0, nft: 40, want: modeNFT},
		{name: "kube-proxy on legacy", legacy: 40, nft: 3, want: modeLegacy},
		{name: "tie goes to nft", legacy: 5, nft: 5, want: modeNFT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chooseIPTablesMode(tt.legacy, tt.nft); got != tt.want {
				t.Errorf("chooseIPTablesMode(%d, %d) = %s, want %s", tt.legacy, tt.nft, got, tt.want)
			}
		})
	}
}

func TestCountRules(t *testing.T) {
	tests := []struct {
		name string
		save string
		want int
	}{
		{name: "empty", save: "", want: 0},
		{name: "tables without rules", save: "# Generated\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", want: 0},
		{
			name: "rules",
			save: "*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\nCOMMIT\n",
			want: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countRules([]byte(tt.save)); got != tt.want {
				t.Errorf("countRules() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestToolsFor(t *testing.T) {
	have := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			if slices.Contains(names, n) {
				return "/usr/sbin/" + n, nil
			}
			return "", errors.New("not found")
		}
	}
	tests := []struct {
		name     string
		mode     iptablesMode
		lookPath func(string) (string, error)
		want     iptablesTools
	}{
		{
			name:     "debian nft",
			mode:     modeNFT,
			lookPath: have("iptables-nft", "iptables-nft-restore", "iptables-legacy", "iptables-legacy-restore"),
			want:     iptablesTools{Mode: modeNFT, IPTables: "iptables-nft", Restore: "iptables-nft-restore"},
		},
		{
			name:     "debian legacy",
			mode:     modeLegacy,
			lookPath: have("iptables-nft", "iptables-nft-restore", "iptables-legacy", "iptables-legacy-restore"),
			want:     iptablesTools{Mode: modeLegacy, IPTables: "iptables-legacy", Restore: "iptables-legacy-restore"},
		},
		{
			name:     "no suffixed binaries",
			mode:     modeNFT,
			lookPath: have("iptables", "iptables-restore"),
			want:     iptablesTools{Mode: modeNFT, IPTables: "iptables", Restore: "iptables-restore"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toolsFor(tt.mode, tt.lookPath); got != tt.want {
				t.Errorf("toolsFor() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePodSubnets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "kind default", in: "10.244.0.0/16", want: []string{"10.244.0.0/16"}},
		{name: "spaces and non-canonical", in: " 10.244.3.0/16 ", want: []string{"10.244.0.0/16"}},
		{name: "dual stack keeps IPv4", in: "10.244.0.0/16,fd00:10:244::/56", want: []string{"10.244.0.0/16"}},
		{name: "empty", in: "", wantErr: true},
		{name: "ipv6 only", in: "fd00:10:244::/56", wantErr: true},
		{name: "garbage", in: "10.244.0.0", wantErr: true},
		{name: "untemplated", in: "{{ .PodSubnet }}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePodSubnets(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePodSubnets(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parsePodSubnets(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMasqRestoreInput(t *testing.T) {
	got := string(masqRestoreInput([]string{"10.244.0.0/16"}))
	want := "*nat\n" +
		":KDRILL-MASQ - [0:0]\n" +
		"-A KDRILL-MASQ -d 10.244.0.0/16 -j RETURN\n" +
		"-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE\n" +
		"COMMIT\n"
	if got != want {
		t.Errorf("masqRestoreInput() =\n%s\nwant\n%s", got, want)
	}
}

func TestChainMatches(t *testing.T) {
	want := masqChainRules([]string{"10.244.0.0/16"})
	tests := []struct {
		name    string
		listing string
		match   bool
	}{
		{
			name: "as iptables -S prints it",
			listing: "-N KDRILL-MASQ\n" +
				"-A KDRILL-MASQ -d 10.244.0.0/16 -j RETURN\n" +
				"-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE\n",
			match: true,
		},
		{
			name:    "extra whitespace is ignored",
			listing: "-N KDRILL-MASQ\n-A KDRILL-MASQ  -d 10.244.0.0/16 -j RETURN \n-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE",
			match:   true,
		},
		{name: "empty chain", listing: "-N KDRILL-MASQ\n", match: false},
		{
			name:    "wrong order",
			listing: "-N KDRILL-MASQ\n-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE\n-A KDRILL-MASQ -d 10.244.0.0/16 -j RETURN\n",
			match:   false,
		},
		{
			name: "other subnet",
			listing: "-N KDRILL-MASQ\n-A KDRILL-MASQ -d 10.245.0.0/16 -j RETURN\n" +
				"-A KDRILL-MASQ -s 10.245.0.0/16 -j MASQUERADE\n",
			match: false,
		},
		{
			name: "extra rule",
			listing: "-N KDRILL-MASQ\n-A KDRILL-MASQ -d 10.244.0.0/16 -j RETURN\n" +
				"-A KDRILL-MASQ -s 10.244.0.0/16 -j MASQUERADE\n-A KDRILL-MASQ -j ACCEPT\n",
			match: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chainMatches([]byte(tt.listing), want); got != tt.match {
				t.Errorf("chainMatches() = %v, want %v", got, tt.match)
			}
		})
	}
}

func TestMasqJumpRule(t *testing.T) {
	want := []string{"POSTROUTING", "-m", "comment", "--comment", "kdrill-cni", "-j", "KDRILL-MASQ"}
	if got := masqJumpRule(); !slices.Equal(got, want) {
		t.Errorf("masqJumpRule() = %q, want %q", got, want)
	}
}
