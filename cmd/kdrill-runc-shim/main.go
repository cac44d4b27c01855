// Command kdrill-runc-shim is an OCI runtime that drops, from every container
// it is asked to create or exec into, the capabilities that the host's
// bounding set lacks, then hands over to runc.
//
// Some virtualised kernels start every process without a few capabilities
// (CAP_SYS_RESOURCE on the machines kdrill's CI uses). runc asks for every
// capability it knows when a container is privileged and then fails with
// "unable to apply caps: operation not permitted". Kind nodes are privileged
// containers, so on such hosts Docker needs this shim as its default runtime.
// scripts/docker-up.sh installs it only where the bounding set is short; on an
// ordinary host nothing changes.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames maps each capability to its bit number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func main() {
	runc := os.Getenv("KDRILL_SHIM_RUNC")
	if runc == "" {
		runc = "runc"
	}
	path, err := lookPath(runc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kdrill-runc-shim: find %s: %v\n", runc, err)
		os.Exit(127)
	}
	if err := rewrite(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kdrill-runc-shim: %v\n", err)
		os.Exit(1)
	}
	args := append([]string{runc}, os.Args[1:]...)
	if err := syscall.Exec(path, args, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "kdrill-runc-shim: exec %s: %v\n", path, err)
		os.Exit(127)
	}
}

// rewrite finds the OCI files the runc command line refers to and removes
// from them the capabilities the bounding set lacks.
func rewrite(args []string) error {
	missing, err := missingCaps()
	if err != nil || len(missing) == 0 {
		return err
	}
	cmd, bundle, process := parseArgs(args)
	switch cmd {
	case "create", "run":
		if bundle == "" {
			bundle = "."
		}
		return filterFile(filepath.Join(bundle, "config.json"), missing, true)
	case "exec":
		if process != "" {
			return filterFile(process, missing, false)
		}
	}
	return nil
}

// parseArgs returns the runc subcommand and the values of --bundle and
// --process wherever they appear.
func parseArgs(args []string) (cmd, bundle, process string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func(name string) (string, bool) {
			if a == name && i+1 < len(args) {
				i++
				return args[i], true
			}
			if strings.HasPrefix(a, name+"=") {
				return strings.TrimPrefix(a, name+"="), true
			}
			return "", false
		}
		if v, ok := value("--bundle"); ok {
			bundle = v
			continue
		}
		if v, ok := value("-b"); ok {
			bundle = v
			continue
		}
		if v, ok := value("--process"); ok {
			process = v
			continue
		}
		if v, ok := value("-p"); ok && cmd == "exec" {
			process = v
			continue
		}
		switch a {
		case "--root", "--log", "--log-format", "--criu", "--pid-file", "--console-socket":
			i++ // these global and subcommand flags take a value
			continue
		}
		if cmd == "" && !strings.HasPrefix(a, "-") {
			cmd = a
		}
	}
	return cmd, bundle, process
}

// missingCaps lists the known capabilities absent from this process's
// bounding set.
func missingCaps() (map[string]bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("read bounding set: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		hex, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("parse CapBnd %q: %w", hex, err)
		}
		return missingFrom(bnd), nil
	}
	return nil, fmt.Errorf("no CapBnd line in /proc/self/status")
}

func missingFrom(bnd uint64) map[string]bool {
	missing := map[string]bool{}
	for bit, name := range capNames {
		if bnd&(1<<uint(bit)) == 0 {
			missing[name] = true
		}
	}
	return missing
}

// filterFile rewrites an OCI runtime spec (spec=true) or process spec in place.
func filterFile(path string, missing map[string]bool, spec bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	proc := doc
	if spec {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	if !filterCaps(proc, missing) {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

// filterCaps removes the missing capabilities from every set of an OCI
// process object and reports whether anything changed.
func filterCaps(proc map[string]any, missing map[string]bool) bool {
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok {
		return false
	}
	changed := false
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if name, ok := c.(string); ok && missing[name] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	return changed
}

func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH") + ":/usr/sbin:/usr/bin:/sbin:/bin") {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("not in PATH")
}
