package bpfboxc

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets scripts run bpfboxc as a command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bpfboxc": func() { os.Exit(Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar; BPFBOX_UPDATE=1 rewrites their
// cmp golden files.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("BPFBOX_UPDATE") != "",
	})
}
