// Package aws is kdrill's EC2 provider: a drill target made of EC2 instances
// picked by their tags, reached through SSM Run Command, stopped, started
// and crashed (a diagnostic interrupt) through the EC2 API, and cut apart
// with network ACL entries. It also installs and audits the seed's AWS
// mitigations: the CloudWatch status-check alarm that reboots the control
// plane, etcd snapshots in S3, etcd's data on a kept EBS volume, and the
// control plane's zone or a re-provisioning plan.
package aws
