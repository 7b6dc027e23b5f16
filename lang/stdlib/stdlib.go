// Package stdlib holds the standard abstractions that policies splice in
// with `include <name>`: small, reviewed sets of rules most programs need
// (the dynamic loader and libc, name service files, the terminal).
// They are embedded in the compiler so a bundle never depends on files
// installed next to it.
package stdlib

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

//go:embed std/*.bbx
var files embed.FS

// Lookup returns the source of the abstraction included as <name>.
func Lookup(name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, "/.\\") {
		return nil, false
	}
	data, err := files.ReadFile("std/" + name + ".bbx")
	if err != nil {
		return nil, false
	}
	return data, true
}

// Names lists the abstractions, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, "std")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".bbx"); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
