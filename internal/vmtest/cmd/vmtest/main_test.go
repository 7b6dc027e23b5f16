package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vmtest": func() { os.Exit(vmtestMain(os.Args[1:])) },
	})
}

// The scripts cover what vmtest decides before it boots anything.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
