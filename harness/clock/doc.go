// Package clock gives kdrill one seam for time. Probers, the runner and the
// journal read the time and wait through a Clock, so tests can drive them
// with a Fake clock instead of sleeping.
package clock
