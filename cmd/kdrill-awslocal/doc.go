// Command kdrill-awslocal serves the local AWS stand-in of package
// harness/aws/awslocal over HTTP, with Docker containers (by default a kind
// cluster's nodes) as the EC2 instances, so kdrill's AWS provider can be
// drilled against a laptop. It is never a front for a real AWS account.
//
//	kdrill-awslocal --kind kdrill --listen 172.19.0.1:4566 --s3-dir ~/.cache/kdrill/s3 --time-scale 60
//
// Clients use any region-scoped credentials matching --access-key-id and
// --secret-access-key (default AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)
// and the listen address as their endpoint, with S3 path-style addressing.
// See docs/aws-local.md.
package main
