//go:build unix

package userimport_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system, or 0 if unknown.
// Unlike wall time it does not grow while other processes hold the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
