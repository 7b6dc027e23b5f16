package bpfboxc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestFmtWriteKeepsMode: -w replaces the file atomically with the same
// permissions and leaves no temporary file behind.
func TestFmtWriteKeepsMode(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "p.bbx")
	if err := os.WriteFile(name, []byte("cap( chown )\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"fmt", "-w", name}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(name)
	if err != nil || string(data) != "cap(chown)\n" {
		t.Fatalf("file now %q (%v)", data, err)
	}
	info, err := os.Stat(name)
	if err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v (%v), want 0640", info.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only p.bbx", len(entries))
	}
}
