// Package awslocal is a local stand-in for the few AWS APIs kdrill's AWS
// provider calls, for tests and local drills; it is never a substitute for,
// nor a client of, a real AWS account. A Server is an http.Handler that
// answers EC2 (query protocol), CloudWatch (Smithy RPC v2 CBOR), SSM (JSON
// 1.1) and S3 (REST-XML, path-style) exactly as the AWS SDK for Go v2
// expects, checks every request's SigV4 signature, and drives real machines
// through a Backend: DockerBackend makes Docker containers (a kind
// cluster's nodes) the instances; LocalBackend keeps pretend instances in
// the process for tests of the protocols.
//
// CloudWatch alarms on the EC2 status-check metrics are evaluated for real
// and run their EC2 actions (reboot, recover, stop) through the backend;
// their transitions are kept in the alarm history. SendDiagnosticInterrupt
// crashes a machine behind EC2's back, as a guest panic would, so that the
// instance stays running with a failed status check until an alarm or a
// RebootInstances brings it back.
// Options.TimeScale compresses alarm time: with TimeScale 60 an alarm whose
// period is 60 s takes one datapoint every real second, so "2 of 2
// datapoints over 60 s periods" fires after 2 s. Everything else (API
// timestamps, signature expiry) runs on real time. docs/aws-local.md lists
// what each API implements.
package awslocal
