/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sensor's tables. Sizes here are defaults; the loader sets the real
 * bounds from the config before load (bpf_map__set_max_entries()).
 *
 * Plain hash maps, not LRU: an LRU map evicts silently, and a silently
 * evicted tainted process would lose its bytes. A full table refuses the
 * insert instead, and the refusal is counted (EXFILMON_STAT_*_FULL) along
 * with the bytes it cost.
 *
 * The hash maps are not preallocated (BPF_F_NO_PREALLOC): sized for the
 * busiest machine, preallocated they cost 41 MiB of kernel memory on
 * every machine, mostly empty. Allocated on insert they cost what is in
 * them, plus 16 bytes a bucket. Tracing programs may use them since 6.1
 * (bpf_mem_alloc serves any context); only an insert pays the allocation,
 * the lookups on the hot path do not change.
 */
#ifndef EXFILMON_BPF_MAPS_H
#define EXFILMON_BPF_MAPS_H

/*
 * A full hash map refuses an insert with -E2BIG; -EEXIST says another CPU
 * made the entry first. Any other error is a refusal too: 6.1's map
 * allocator can answer -ENOMEM or -EBUSY in tracing context.
 */
#define E2BIG	7
#define EEXIST	17

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct exfilmon_file_key);
	__type(value, struct exfilmon_obj);
} watched SEC(".maps");

/* Pipes, sockets and loopback flows holding taint not read yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct exfilmon_file_key);
	__type(value, struct exfilmon_obj);
} streams SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct exfilmon_pkey);
	__type(value, struct exfilmon_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct exfilmon_read_key);
	__type(value, struct exfilmon_count);
} reads SEC(".maps");

/* (process, object) -> taint the process carried into the object */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct exfilmon_read_key);
	__type(value, struct exfilmon_count);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct exfilmon_send_key);
	__type(value, struct exfilmon_count);
} sends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EXFILMON_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* sized by the loader from [sensor] ring_kib (1 MiB by default) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/*
 * When a record wakes the daemon. A wakeup is an irq_work, a self-IPI (a
 * VM exit under a hypervisor) that costs several times the rest of the
 * record, and a process reading or sending in a loop would pay one on
 * almost every call while the daemon keeps up. So a record asks for one
 * only when none was asked for in the last RING_WAKE_GAP_NS, on any CPU;
 * the daemon drains again RING_WAKE_GAP_NS after any drain that found
 * records (exfilmond.c), which picks up those submitted quietly
 * meanwhile. A ring a quarter full wakes it at once, long before a
 * record could be dropped. The kernel module follows the same rule
 * (module/ring.c).
 */
#define RING_WAKE_GAP_NS	(5 * 1000 * 1000)

/* the last wakeup asked for; racing CPUs at worst both ask */
__u64 ring_woken_ns;

static __always_inline void ring_submit(void *rec, __u64 now)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (now - ring_woken_ns >= RING_WAKE_GAP_NS) {
		ring_woken_ns = now;
		flags = 0;	/* wakes the daemon if it waits */
	} else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
		   bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4) {
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(rec, flags);
}

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	/* per-CPU slot: no other CPU writes it, so no atomic is needed */
	if (v)
		*v += n;
}

/*
 * Filters in front of the two hash lookups that every process on the
 * machine would otherwise pay: the watched table's, on each read() of any
 * file, and the process table's, on each write() or send of any process.
 * A lookup costs about 55 ns here (bpf_stats), a bit test a few. Both are
 * plain global arrays (.bss): the verifier turns them into direct loads.
 * Bits are set with atomic ORs: a plain read-modify-write on a word shared
 * with another CPU could lose a bit, and a lost bit would hide data.
 */

/* EXFILMON_WATCH_FILTER_SHIFT in include/exfilmon_abi.h says the rule. */
__u64 watch_filter[(1 << EXFILMON_WATCH_FILTER_SHIFT) / 64];

static __always_inline bool watch_maybe(__u64 ino)
{
	__u32 slot = exfilmon_watch_slot(ino);

	return watch_filter[slot / 64] & (1ULL << (slot % 64));
}

static __always_inline void watch_mark(__u64 ino)
{
	__u32 slot = exfilmon_watch_slot(ino);

	__sync_fetch_and_or(&watch_filter[slot / 64], 1ULL << (slot % 64));
}

/*
 * Set by the loader once a directory is watched: until then a read of an
 * unwatched file stops at the filter, without walking to its parent.
 */
__u32 watch_dirs;

/*
 * One bit per process id (PID_MAX_LIMIT is 2^22 on 64-bit), set before
 * a process gets its entry in the process table and cleared when its
 * last thread exits. Exactly one live process owns a bit: a pid is freed
 * only when the process is reaped, after its exit, so a new owner sets
 * the bit again only after the old one cleared it, and no thread of an
 * exited process makes another syscall. An entry the daemon has not
 * deleted yet outlives its bit: only the syscall paths, where the caller
 * is alive, use the filter.
 */
#define TRACKED_BITS	(1 << 22)
__u64 tracked_tgids[TRACKED_BITS / 64];

static __always_inline bool tgid_maybe_tracked(__u32 tgid)
{
	tgid &= TRACKED_BITS - 1;
	return tracked_tgids[tgid / 64] & (1ULL << (tgid % 64));
}

static __always_inline void tgid_mark(__u32 tgid)
{
	tgid &= TRACKED_BITS - 1;
	__sync_fetch_and_or(&tracked_tgids[tgid / 64], 1ULL << (tgid % 64));
}

static __always_inline void tgid_unmark(__u32 tgid)
{
	tgid &= TRACKED_BITS - 1;
	__sync_fetch_and_and(&tracked_tgids[tgid / 64],
			     ~(1ULL << (tgid % 64)));
}

#endif /* EXFILMON_BPF_MAPS_H */
