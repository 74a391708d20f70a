// SPDX-License-Identifier: GPL-2.0-only
/*
 * exfilmon's record ring: a preallocated byte ring that the hooks append
 * whole records to and read() drains. Writers are serialised by a
 * spinlock; there is one reader at a time (the device's read mutex), which
 * copies records out without the lock because writers only ever touch the
 * free space between head and tail + size.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/irq_work.h>
#include <linux/time64.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include "exfilmon.h"

struct exfilmon_ring {
	spinlock_t lock;		/* serialises writers */
	u8 *data;
	unsigned long size;		/* a power of two */
	unsigned long head;		/* written by writers, under lock */
	unsigned long tail;		/* written by the reader only */
	struct irq_work wake;
	u64 woken_ns;			/* the last wake-up asked for */
};

/*
 * When a record wakes the reader: as the eBPF sensor does (bpf/maps.h,
 * ring_submit()). The irq_work is a self-IPI, a VM exit under a
 * hypervisor, that costs more than the rest of the record; a process
 * reading in a loop would raise one on almost every call while the daemon
 * keeps up. So a record raises it only when none was raised in the last
 * RING_WAKE_GAP_NS, or when the ring is a quarter full; the daemon drains
 * again that long after any drain that found records.
 */
#define RING_WAKE_GAP_NS	(5 * NSEC_PER_MSEC)

static struct exfilmon_ring ring;

DECLARE_WAIT_QUEUE_HEAD(exfilmon_ring_wq);

/*
 * A wake-up takes the wait queue's lock and the woken task's runqueue lock.
 * A probe must not take locks the traced code may hold: fork, exec and
 * exit run deep in the scheduler's process-lifetime code. An irq_work
 * wakes the reader from its own interrupt once the probe has returned, and
 * one wake-up covers a burst of records.
 */
static void ring_wake(struct irq_work *work)
{
	wake_up_interruptible(&exfilmon_ring_wq);
}

int exfilmon_ring_init(u32 ring_kib)
{
	spin_lock_init(&ring.lock);
	ring.size = (unsigned long)ring_kib * 1024;
	ring.head = 0;
	ring.tail = 0;
	ring.woken_ns = 0;
	init_irq_work(&ring.wake, ring_wake);
	ring.data = vmalloc(ring.size);
	return ring.data ? 0 : -ENOMEM;
}

void exfilmon_ring_exit(void)
{
	/* the hooks are gone: nothing queues the irq_work any more */
	irq_work_sync(&ring.wake);
	vfree(ring.data);
	ring.data = NULL;
}

static void ring_copy_in(unsigned long pos, const void *src, u32 len)
{
	unsigned long off = pos & (ring.size - 1);
	unsigned long first = min_t(unsigned long, len, ring.size - off);

	memcpy(ring.data + off, src, first);
	memcpy(ring.data, src + first, len - first);
}

static void ring_copy_out(unsigned long pos, void *dst, u32 len)
{
	unsigned long off = pos & (ring.size - 1);
	unsigned long first = min_t(unsigned long, len, ring.size - off);

	memcpy(dst, ring.data + off, first);
	memcpy(dst + first, ring.data, len - first);
}

static int ring_copy_to_user(char __user *dst, unsigned long pos,
			     unsigned long len)
{
	unsigned long off = pos & (ring.size - 1);
	unsigned long first = min_t(unsigned long, len, ring.size - off);

	if (copy_to_user(dst, ring.data + off, first) ||
	    copy_to_user(dst + first, ring.data, len - first))
		return -EFAULT;
	return 0;
}

/*
 * Append one record, or count it dropped when the ring is full. Callers
 * have already put its bytes in the tables, so a drop loses timing detail
 * only: the next record carries the cumulative totals.
 */
void exfilmon_emit(const void *rec, u32 size)
{
	u64 now = ((const struct exfilmon_rec_hdr *)rec)->ts_ns;
	unsigned long head, tail;
	bool wake;

	spin_lock(&ring.lock);
	head = ring.head;
	/* pairs with the reader's release: it is done with those bytes */
	tail = smp_load_acquire(&ring.tail);
	if (ring.size - (head - tail) < size) {
		spin_unlock(&ring.lock);
		exfilmon_stat_add(EXFILMON_STAT_DROPPED, 1);
		return;
	}
	ring_copy_in(head, rec, size);
	/* the record's bytes before the head that publishes them */
	smp_store_release(&ring.head, head + size);
	/* racing CPUs at worst both wake it */
	wake = now - READ_ONCE(ring.woken_ns) >= RING_WAKE_GAP_NS;
	if (wake)
		WRITE_ONCE(ring.woken_ns, now);
	else
		wake = head + size - tail >= ring.size / 4;
	spin_unlock(&ring.lock);
	exfilmon_stat_add(EXFILMON_STAT_EVENTS, 1);
	if (wake && wq_has_sleeper(&exfilmon_ring_wq))
		irq_work_queue(&ring.wake);
}

bool exfilmon_ring_pending(void)
{
	return READ_ONCE(ring.head) != READ_ONCE(ring.tail);
}

/*
 * Copy as many whole records as fit in count bytes. 0 when the ring is
 * empty, -EINVAL when the next record does not fit at all. The caller
 * holds the read mutex, so tail is ours alone.
 */
ssize_t exfilmon_ring_read(char __user *buf, size_t count)
{
	/* pairs with the writers' release: the records before head are whole */
	unsigned long head = smp_load_acquire(&ring.head);
	unsigned long tail = ring.tail, end = tail;
	struct exfilmon_rec_hdr hdr;

	if (tail == head)
		return 0;
	while (end != head) {
		ring_copy_out(end, &hdr, sizeof(hdr));
		if (hdr.size > count - (end - tail))
			break;
		end += hdr.size;
	}
	if (end == tail)
		return -EINVAL;
	if (ring_copy_to_user(buf, tail, end - tail))
		return -EFAULT;
	/* writers may reuse the bytes once they see the new tail */
	smp_store_release(&ring.tail, end);
	return end - tail;
}
