package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// settle is how long goroutines get to end after a test.
const settle = 5 * time.Second

// Check records the number of goroutines and, when the test ends, fails it
// if more are still running after a grace period. Call it first in a test,
// so that its check runs after every other cleanup.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(settle)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines leaked (%d before the test, %d after):\n%s", n-before, before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
