// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor monitor's only program: it does nothing. Attached to every
 * syscall tracepoint exfilmon's eBPF sensor uses (bench/monitor_floor.c),
 * it measures what the kernel charges for any program there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint")
int nothing(void *ctx)
{
	return 0;
}
