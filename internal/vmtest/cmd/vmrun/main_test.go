package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vmrun": func() { os.Exit(vmrun(os.Args[1:])) },
	})
}

// The scripts cover what vmrun decides before it boots anything; booting is
// exercised by the VM tests themselves (go run ./internal/vmtest/cmd/vmtest).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
