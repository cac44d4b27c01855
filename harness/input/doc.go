// Package input defines the error kdrill returns when what the user gave it
// (a config file, a flag, a results file) is wrong, as opposed to a cluster
// or a drill going wrong. cmd maps it to exit code 2.
package input
