// Package config reads kdrill.yaml, the drill config file: the target and
// the allow-list of targets kdrill may act on, the scenarios and their
// parameters, the SLOs, the mitigations and the probe rates. Every mistake in
// the file is an *input.Error naming its line and field. Guard decides, from
// the config and what is known about the target, whether kdrill may act on
// it at all (docs/config.md).
package config
