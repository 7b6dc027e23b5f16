// Package enforce holds the BPF LSM programs that enforce bundles, compiled
// from enforce.bpf.c by bpf2go. The generated Go types are the layouts of the
// maps that runtime/ fills; they are never written twice.
package enforce

//go:generate go tool bpf2go -cc clang-19 -cflags "-O2 -g -Wall -Werror" -target bpfel -type event -type dfa -type byte_classes -type accept -type entry -type profile -type config -type task_state -type bb_op -type event_flag -type scope_state -type scope_limits Enforce enforce.bpf.c -- -I../include
