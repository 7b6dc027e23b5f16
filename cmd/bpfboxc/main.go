// Command bpfboxc checks, formats and compiles bpfbox policies.
package main

import (
	"os"

	"github.com/bpfbox/bpfbox/internal/cli/bpfboxc"
)

func main() { os.Exit(bpfboxc.Main()) }
