// Package leaktest checks that a test leaves no goroutines behind. It counts
// goroutines rather than naming them, which is enough for packages whose
// goroutines all end with a context or a Close.
package leaktest
