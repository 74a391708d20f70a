// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon.ko: the kernel-module sensor of exfilmon, for kernels where the
 * eBPF sensor cannot load. It counts the bytes processes read from watched
 * files, follows that data as taint through pipes, files, sockets and
 * children (docs/flow.md), and counts the bytes tainted processes send,
 * per destination, with the eBPF sensor's semantics, tables and records,
 * and hands them to exfilmond through /dev/exfilmon. In prevent mode it
 * also refuses the transfers of a process holding too much watched data
 * (docs/prevent.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "exfilmon.h"

EXFILMON_ABI_ASSERTS;

/* They size the memory taken at load; SET_LIMITS can only lower them. */
static unsigned int max_procs = 16384;
module_param(max_procs, uint, 0444);
MODULE_PARM_DESC(max_procs, "Tracked processes (64..4194304, default 16384)");

static unsigned int max_reads = 65536;
module_param(max_reads, uint, 0444);
MODULE_PARM_DESC(max_reads, "(process, file) counters (64..4194304, default 65536)");

static unsigned int max_sends = 65536;
module_param(max_sends, uint, 0444);
MODULE_PARM_DESC(max_sends, "(process, destination) counters (64..4194304, default 65536)");

static unsigned int max_watch = 65536;
module_param(max_watch, uint, 0444);
MODULE_PARM_DESC(max_watch, "Watched inodes (64..4194304, default 65536)");

static unsigned int max_streams = 16384;
module_param(max_streams, uint, 0444);
MODULE_PARM_DESC(max_streams, "Pipes, sockets and loopback flows holding taint (64..4194304, default 16384)");

static unsigned int max_flows = 65536;
module_param(max_flows, uint, 0444);
MODULE_PARM_DESC(max_flows, "(process, object) outflows (64..4194304, default 65536)");

static unsigned int ring_kib = 1024;
module_param(ring_kib, uint, 0444);
MODULE_PARM_DESC(ring_kib, "Record ring in KiB, a power of two (64..1048576, default 1024)");

/*
 * /sys/module/exfilmon/parameters/abi_version: "major.minor", for tools
 * that check the module without opening the device. Read-only, and not
 * settable at load either.
 */
static int abi_version_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%u.%u\n", EXFILMON_ABI_MAJOR,
			 EXFILMON_ABI_MINOR);
}

static int abi_version_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops abi_version_ops = {
	.get = abi_version_get,
	.set = abi_version_set,
};

module_param_cb(abi_version, &abi_version_ops, NULL, 0444);
MODULE_PARM_DESC(abi_version, "ABI of the records and ioctls (read-only)");

static int __init check_table_param(const char *name, unsigned int v)
{
	if (v >= EXFILMON_TABLE_MIN && v <= EXFILMON_TABLE_MAX)
		return 0;
	pr_err("invalid %s=%u: must be %u to %u\n", name, v,
	       EXFILMON_TABLE_MIN, EXFILMON_TABLE_MAX);
	return -EINVAL;
}

static int __init check_params(void)
{
	if (check_table_param("max_procs", max_procs) ||
	    check_table_param("max_reads", max_reads) ||
	    check_table_param("max_sends", max_sends) ||
	    check_table_param("max_watch", max_watch) ||
	    check_table_param("max_streams", max_streams) ||
	    check_table_param("max_flows", max_flows))
		return -EINVAL;
	if (ring_kib < EXFILMON_RING_KIB_MIN ||
	    ring_kib > EXFILMON_RING_KIB_MAX || !is_power_of_2(ring_kib)) {
		pr_err("invalid ring_kib=%u: must be a power of two from %u to %u\n",
		       ring_kib, EXFILMON_RING_KIB_MIN, EXFILMON_RING_KIB_MAX);
		return -EINVAL;
	}
	return 0;
}

static int __init exfilmon_init(void)
{
	const u32 size[EXFILMON_TABLES] = {
		[EXFILMON_TABLE_PROCS] = max_procs,
		[EXFILMON_TABLE_READS] = max_reads,
		[EXFILMON_TABLE_SENDS] = max_sends,
		[EXFILMON_TABLE_WATCHED] = max_watch,
		[EXFILMON_TABLE_STREAMS] = max_streams,
		[EXFILMON_TABLE_FLOWS] = max_flows,
		/* refusals are (process, destination) pairs, as sends */
		[EXFILMON_TABLE_BLOCKS] = max_sends,
	};
	int err;

	err = check_params();
	if (err)
		return err;
	err = exfilmon_tables_init(size);
	if (err)
		return err;
	err = exfilmon_ring_init(ring_kib);
	if (err)
		goto out_free_tables;
	err = exfilmon_prevent_init();
	if (err)
		goto out_free_ring;
	/* the probes need the tables, the ring and the marks, nothing else */
	err = exfilmon_hooks_init();
	if (err)
		goto out_free_prevent;
	/* prevent mode's hooks act on what the probes count */
	err = exfilmon_netfilter_init();
	if (err)
		goto out_unregister_hooks;
	/*
	 * The device comes last: once it exists it can be opened, and a
	 * failure after that would free the module under an open file.
	 */
	err = exfilmon_chardev_init();
	if (err)
		goto out_unregister_netfilter;
	pr_info("loaded: ABI %u.%u, /dev/exfilmon\n", EXFILMON_ABI_MAJOR,
		EXFILMON_ABI_MINOR);
	return 0;

out_unregister_netfilter:
	exfilmon_netfilter_exit();
out_unregister_hooks:
	exfilmon_hooks_exit();
out_free_prevent:
	exfilmon_prevent_exit();
out_free_ring:
	exfilmon_ring_exit();
out_free_tables:
	exfilmon_tables_exit();
	return err;
}

static void __exit exfilmon_exit(void)
{
	exfilmon_chardev_exit();
	exfilmon_netfilter_exit();
	exfilmon_hooks_exit();
	exfilmon_prevent_exit();
	exfilmon_ring_exit();
	exfilmon_tables_exit();
}

module_init(exfilmon_init);
module_exit(exfilmon_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("exfilmon sensor: watched data read, passed on between processes and sent");
MODULE_AUTHOR("exfilmon developers");
