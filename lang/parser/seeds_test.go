package parser

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFuzzSeeds keeps testdata/fuzz/FuzzParse and ../format's
// testdata/fuzz/FuzzFormat seeded with the golden inputs (BPFBOX_UPDATE=1
// writes them; otherwise it checks they exist).
func TestWriteFuzzSeeds(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, dir := range []string{"testdata/fuzz/FuzzParse", "../format/testdata/fuzz/FuzzFormat"} {
		for i, src := range goldenInputs(t) {
			name := filepath.Join(dir, "golden-"+strings.TrimSuffix(filepath.Base(files[i]), ".txtar"))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", src)
			if update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(name); err != nil || string(got) != want {
				t.Errorf("seed %s is missing or stale (run with BPFBOX_UPDATE=1)", name)
			}
		}
	}
}
