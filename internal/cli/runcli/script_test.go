package runcli

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bpfbox/bpfbox/internal/cli/bpfboxc"
	"github.com/bpfbox/bpfbox/internal/privileged"
)

// TestMain lets scripts run bpfbox-run and bpfboxc as commands.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bpfbox-run": func() { os.Exit(Main()) },
		"bpfboxc":    func() { os.Exit(bpfboxc.Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar: what bpfbox-run does before it
// touches the kernel.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("BPFBOX_UPDATE") != "",
	})
}

// TestKernelScripts runs testdata/vmscript/*.txtar as root in the VM: apply
// in the background, confined driver programs, then SIGINT and the events.
func TestKernelScripts(t *testing.T) {
	privileged.Require(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/vmscript",
		Setup: func(env *testscript.Env) error {
			env.Setenv(privileged.EnvDrivers, os.Getenv(privileged.EnvDrivers))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": waitFile,
		},
	})
}

// waitFile waits up to a minute (emulated VMs are slow) for a file to exist.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s", fmt.Sprintf("%s did not appear within a minute", args[0]))
}
