//go:build ignore

// SPDX-License-Identifier: GPL-2.0
//
// The harness's smoke test: a BPF LSM program that refuses file_open with
// EPERM for the one process whose tgid user space stores in denied_tgid, and
// allows everyone else. It proves the VM's kernel runs BPF LSM programs built
// by this project's toolchain (clang-19, bpf2go, vmlinux.h from 6.1's BTF).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32); /* tgid to refuse; 0: nobody */
} denied_tgid SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(smoke_file_open, struct file *file, int ret)
{
	if (ret != 0)
		return ret; /* an earlier LSM already refused */
	__u32 key = 0;
	__u32 *tgid = bpf_map_lookup_elem(&denied_tgid, &key);
	if (!tgid || *tgid == 0)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == *tgid)
		return -EPERM;
	return 0;
}
