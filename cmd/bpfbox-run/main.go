// Command bpfbox-run enforces bpfbox bundles in the kernel.
package main

import (
	"os"

	"github.com/bpfbox/bpfbox/internal/cli/runcli"
)

func main() { os.Exit(runcli.Main()) }
