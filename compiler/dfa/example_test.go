package dfa_test

import (
	"fmt"

	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/lang/glob"
)

func ExampleCompile() {
	var globs []*glob.Glob
	for _, p := range []string{"/etc/**", "/etc/*.conf", "/proc/self/{maps,status}"} {
		globs = append(globs, glob.MustParse(p))
	}
	d, err := dfa.Compile(globs, dfa.Limits{})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/etc/host.conf", "/etc/ssh/sshd_config", "/proc/self/maps", "/tmp/x"} {
		fmt.Println(path, d.Match(path))
	}
	fmt.Println(d.Stats())
	// Output:
	// /etc/host.conf [0 1]
	// /etc/ssh/sshd_config [0]
	// /proc/self/maps [2]
	// /tmp/x []
	// 31 states, 16 classes, 8 accepting states, 3 accept sets, 2-byte cells, 1248 table bytes
}

func ExampleCompileJoin() {
	const read, write, deny = 1, 2, 4
	var globs []*glob.Glob
	for _, p := range []string{"/home/*/**", "/home/*/.cache/**", "/**/.ssh/**"} {
		globs = append(globs, glob.MustParse(p))
	}
	values := []int32{read, write, deny}
	or := func(a, b int32) int32 { return a | b }
	d, err := dfa.CompileJoin(globs, values, or, dfa.Limits{})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/home/ann/notes", "/home/ann/.cache/x", "/home/ann/.ssh/id_ed25519", "/etc/passwd"} {
		fmt.Println(path, d.Match(path))
	}
	// Output:
	// /home/ann/notes [1]
	// /home/ann/.cache/x [3]
	// /home/ann/.ssh/id_ed25519 [5]
	// /etc/passwd []
}
