//go:build unix

package main

import "syscall"

// openFileLimit returns the process's soft limit on open files. The Go runtime has already
// raised it to the hard limit at start (Go ≥ 1.19 does so on Unix), as far as it is allowed.
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return r.Cur, true
}
