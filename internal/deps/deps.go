// Package deps pins the project's chosen modules in go.mod while the
// packages that use them are being written. Remove once all are imported.
package deps

import (
	_ "github.com/alecthomas/participle/v2"
	_ "github.com/cilium/ebpf"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
)
