//go:build unix

package dfa

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used so far; benchmarks report it
// per operation because the machine's wall clock is shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
