// Package smoke holds the test harness's smoke-test BPF LSM program,
// compiled from smoke.bpf.c by bpf2go: it refuses file_open for one process.
package smoke

//go:generate go tool bpf2go -cc clang-19 -cflags "-O2 -g -Wall -Werror" -target bpfel Smoke smoke.bpf.c -- -I../include
