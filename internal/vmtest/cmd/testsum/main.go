// Command testsum condenses `go test -json ./...` on stdin: a line per
// package, the output of failing tests, and a final "N passed, N failed".
// It exits 1 if any test or package failed.
//
//	go test -json ./... | go run ./internal/vmtest/cmd/testsum [--counts FILE]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/bpfbox/bpfbox/internal/vmtest/testsum"
)

func main() {
	counts := flag.String("counts", "", "also write \"PASSED FAILED SKIPPED\" to `FILE` (for scripts)")
	flag.Parse()
	c, err := testsum.Summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsum: read go test -json: %v\n", err)
		os.Exit(1)
	}
	for _, f := range c.Failures {
		fmt.Println("FAIL " + f)
	}
	if c.Skipped > 0 {
		fmt.Printf("%d skipped (privileged tests skip here and run in the VM)\n", c.Skipped)
	}
	fmt.Printf("%d passed, %d failed\n", c.Passed, c.Failed)
	if *counts != "" {
		if err := os.WriteFile(*counts, fmt.Appendf(nil, "%d %d %d\n", c.Passed, c.Failed, c.Skipped), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "testsum: write counts: %v\n", err)
			os.Exit(1)
		}
	}
	if c.Failed > 0 {
		os.Exit(1)
	}
}
