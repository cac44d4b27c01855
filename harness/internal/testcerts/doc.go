// Package testcerts makes a throwaway CA with a server and a client
// certificate for tests of TLS clients, such as the etcd prober's.
package testcerts
