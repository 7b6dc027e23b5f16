package testsum

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdata/sample.json is `go test -json ./...` of a module with a passing, a
// failing (subtest), a skipped and a panicking test, a build failure and a
// TestMain that exits 3 (times and stack addresses scrubbed).
func TestSummarize(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	c, err := Summarize(in, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{
		Passed: 1, Failed: 4, Skipped: 1,
		Failures: []string{
			"example.com/ts/a TestFail",
			"example.com/ts/b TestPanics",
			"example.com/ts/c (build failed)",
			"example.com/ts/d (failed without a failing test: panic, TestMain or timeout)",
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	golden := filepath.Join("testdata", "sample.golden")
	if os.Getenv("BPFBOX_UPDATE") == "1" {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantOut, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantOut), out.String()); diff != "" {
		t.Errorf("report (-want +got; BPFBOX_UPDATE=1 refreshes):\n%s", diff)
	}
}

func TestSummarizePassesNonJSONThrough(t *testing.T) {
	var out bytes.Buffer
	c, err := Summarize(bytes.NewBufferString("go: warning: something\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "go: warning: something\n" || c.Passed+c.Failed+c.Skipped != 0 {
		t.Errorf("got output %q, counts %+v", out.String(), c)
	}
}
