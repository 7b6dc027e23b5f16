package diag

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/lang/source"
)

// span builds a span from byte offsets in text, computing lines and columns.
func span(file string, text string, from, to int) source.Span {
	pos := func(off int) source.Pos {
		line, col := 1, 1
		for i := 0; i < off; i++ {
			if text[i] == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return source.Pos{Offset: off, Line: line, Col: col}
	}
	return source.Span{File: file, Start: pos(from), End: pos(to)}
}

const renderSrc = "#![profile \"/usr/bin/x\"]\n\tfs(\"/etc/passwd\", raed)\nfs(\"/tmp/é/x\", exec)\nnet(inet,\n  bind)\r\nlast"

func renderCases() (List, func(string) []byte) {
	s := renderSrc
	at := func(sub string) int { return bytes.Index([]byte(s), []byte(sub)) }
	l := List{
		// Given out of order: rendering sorts.
		{Severity: Warning, Code: "W201", Span: span("a.bbx", s, at("\"/tmp"), at("\"/tmp")+len(`"/tmp/é/x"`)), Message: "exec from a world-writable place"},
		{Severity: Error, Code: "E103", Span: span("a.bbx", s, at("raed"), at("raed")+4), Message: `unknown fs mode "raed"`, Hint: `did you mean "read"?`},
		{Severity: Error, Code: "E110", Span: span("a.bbx", s, at("net"), at("bind)")+5), Message: "multi-line span\nis clipped"},
		{Severity: Note, Code: "N301", Span: span("a.bbx", s, at("last")+4, at("last")+4), Message: "empty span at end of file"},
		{Severity: Error, Code: "E100", Span: source.Span{File: "gone.bbx"}, Message: "no position"},
		{Severity: Error, Code: "E101", Span: span("nosrc.bbx", s, 0, 3), Message: "source not available"},
	}
	files := map[string][]byte{"a.bbx": []byte(s)}
	return l, func(name string) []byte { return files[name] }
}

func TestWriteTextGolden(t *testing.T) {
	l, src := renderCases()
	for _, tc := range []struct {
		name string
		max  int
	}{{"text_all", 0}, {"text_max2", 2}} {
		var b bytes.Buffer
		WriteText(&b, l, src, tc.max)
		golden(t, filepath.Join("testdata", tc.name+".golden"), b.Bytes())
	}
}

func TestWriteJSONGolden(t *testing.T) {
	l, _ := renderCases()
	var b bytes.Buffer
	if err := WriteJSON(&b, l); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "json.golden"), b.Bytes())

	b.Reset()
	if err := WriteJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "[]\n" {
		t.Errorf("empty list: got %q, want %q", got, "[]\n")
	}
}

func TestSummary(t *testing.T) {
	l, _ := renderCases()
	if got, want := l.Summary(), "4 errors, 1 warning, 1 note"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if got := (List{}).Summary(); got != "" {
		t.Errorf("empty Summary() = %q", got)
	}
}

func TestWriteTextSkipsBOM(t *testing.T) {
	src := "\xef\xbb\xbffs(x)\n" // positions count after the mark
	var b bytes.Buffer
	WriteText(&b, List{{Severity: Error, Code: "E1", Span: span("f", src[3:], 3, 4), Message: "m"}},
		func(string) []byte { return []byte(src) }, 0)
	want := "f:1:4: error[E1]: m\n 1 | fs(x)\n   |    ^\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteTextHostileSpans(t *testing.T) {
	// Spans that do not fit the text must not panic.
	src := []byte("ab\ncd")
	for _, sp := range []source.Span{
		{File: "f", Start: source.Pos{Offset: 99, Line: 9, Col: 1}, End: source.Pos{Offset: 100}},
		{File: "f", Start: source.Pos{Offset: 4, Line: 2, Col: 2}, End: source.Pos{Offset: 1}},
		{File: "f", Start: source.Pos{Offset: -1, Line: 1, Col: 1}},
	} {
		var b bytes.Buffer
		WriteText(&b, List{{Severity: Error, Code: "E1", Span: sp, Message: "m"}}, func(string) []byte { return src }, 0)
		if b.Len() == 0 {
			t.Errorf("span %v: nothing written", sp)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if os.Getenv("BPFBOX_UPDATE") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (refresh with BPFBOX_UPDATE=1): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got; refresh with BPFBOX_UPDATE=1):\n%s", path, diff)
	}
}
