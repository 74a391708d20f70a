/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading the current task: its identity, its syscall arguments and its
 * open files. Everything is read with CO-RE, so one object runs on every
 * kernel from the minimum (6.1) on.
 */
#ifndef EXFILMON_BPF_TASK_H
#define EXFILMON_BPF_TASK_H

#define S_IFMT		00170000
#define S_IFSOCK	0140000
#define S_IFREG		0100000
#define S_IFIFO		0010000

static __always_inline void task_pkey(struct task_struct *t,
				      struct exfilmon_pkey *key)
{
	key->tgid = BPF_CORE_READ(t, tgid);
	key->pad = 0;
	/* de_thread() hands the leader's start_time to an exec'ing thread,
	 * so the key of a process survives exec from any of its threads. */
	key->start_ns = BPF_CORE_READ(t, group_leader, start_time);
}

/*
 * The current task is a BTF pointer: its fields are plain loads that the
 * verifier guards (PROBE_MEM), not helper calls, which matters on the path
 * every syscall of every process takes.
 */
static __always_inline void current_pkey(struct exfilmon_pkey *key)
{
	struct task_struct *t = bpf_get_current_task_btf();

	key->tgid = t->tgid;
	key->pad = 0;
	key->start_ns = t->group_leader->start_time;
}

/*
 * The syscall's own arguments, read back at sys_exit from the registers
 * the entry code saved (task_pt_regs()). The syscall tracepoints only pass
 * the return value at exit; reading the saved registers spares a per-call
 * stash map between sys_enter and sys_exit, so an unrelated syscall costs
 * one program run, not two plus a map update.
 */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* bpf_task_pt_regs() returns a BTF pointer: the registers are plain loads */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG1(r) ((r)->di)
#define SYSCALL_ARG2(r) ((r)->si)
#define SYSCALL_ARG3(r) ((r)->dx)
#define SYSCALL_ARG4(r) ((r)->r10)
#define SYSCALL_ARG5(r) ((r)->r8)
#define SYSCALL_ARG6(r) ((r)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_ARG1(r) ((r)->orig_x0)
#define SYSCALL_ARG2(r) ((r)->regs[1])
#define SYSCALL_ARG3(r) ((r)->regs[2])
#define SYSCALL_ARG4(r) ((r)->regs[3])
#define SYSCALL_ARG5(r) ((r)->regs[4])
#define SYSCALL_ARG6(r) ((r)->regs[5])
#else
#error "exfilmon: syscall argument registers unknown for this arch"
#endif

/*
 * fd -> struct file of the current task, or NULL. The kernel takes fds as
 * 32-bit ints (fdget(unsigned int)): the upper half of the register is
 * ignored by it, so it must be ignored here, or a caller could set it to
 * hide a read or send from us.
 */
static __always_inline struct file *fd_file(__u32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;
	struct file **fds;
	struct file *f = NULL;

	/* a negative int is a huge u32: refused like the kernel does; a
	 * kernel thread's NULL files reads as a table of 0 fds */
	if (fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	/* an array indexed by a variable: the one helper read left */
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void inode_key(struct inode *inode,
				      struct exfilmon_file_key *key)
{
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline __u32 inode_mode(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_mode) & S_IFMT;
}

#define INODE_HEAD_MAX	128

/*
 * The type and key of the inode behind every read: i_mode, i_sb and i_ino
 * sit near the start of struct inode, so one read of that block (its
 * offsets from CO-RE) replaces three helper calls on the path each read()
 * of each process takes. A layout that puts them further falls back to a
 * read per field. A regular file that the watch filter rules out (with no
 * directory watched) needs no device: the read of i_sb->s_dev is spared.
 */
static __noinline __u32 inode_mode_key(struct inode *inode,
				       struct exfilmon_file_key *key)
{
	__u32 mode_off = bpf_core_field_offset(struct inode, i_mode);
	__u32 sb_off = bpf_core_field_offset(struct inode, i_sb);
	__u32 ino_off = bpf_core_field_offset(struct inode, i_ino);
	__u64 head[INODE_HEAD_MAX / 8];
	struct super_block *sb;
	__u32 mode;

	if (!key)
		return 0;
	if (mode_off > INODE_HEAD_MAX - 2 || sb_off > INODE_HEAD_MAX - 8 ||
	    ino_off > INODE_HEAD_MAX - 8 ||
	    bpf_probe_read_kernel(head, ino_off + 8, inode)) {
		inode_key(inode, key);
		return inode_mode(inode);
	}
	mode = *(__u16 *)((char *)head + mode_off) & S_IFMT;
	key->ino = *(__u64 *)((char *)head + ino_off);
	key->dev = 0;
	if (mode == S_IFREG && !watch_dirs && !watch_maybe(key->ino))
		return mode;
	sb = *(struct super_block **)((char *)head + sb_off);
	key->dev = BPF_CORE_READ(sb, s_dev);
	return mode;
}

#endif /* EXFILMON_BPF_TASK_H */
