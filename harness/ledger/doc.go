// Package ledger keeps the writes the API acknowledged during a drill and,
// once the cluster has recovered, checks which of them survived. As in
// Jepsen-style checkers, a write that never got an acknowledgement proves
// nothing either way; an acknowledged write that is gone is lost, and the
// lost writes make the recovery point (RPO).
package ledger
