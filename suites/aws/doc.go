// Package aws holds the drills that run on the AWS provider, end to end
// through the real aws-sdk-go-v2 code path, against the local AWS stand-in
// (harness/aws/awslocal) whose instances are a kind cluster's node
// containers. Labels: kind, aws.
package aws
