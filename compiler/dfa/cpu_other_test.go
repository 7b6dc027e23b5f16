//go:build !unix

package dfa

import "time"

func cpuTime() time.Duration { return 0 }
