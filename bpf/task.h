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

static __always_inline void current_pkey(struct exfilmon_pkey *key)
{
	task_pkey(bpf_get_current_task_btf(), key);
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

#define SYSCALL_ARG1(r) PT_REGS_PARM1_CORE_SYSCALL(r)
#define SYSCALL_ARG2(r) PT_REGS_PARM2_CORE_SYSCALL(r)
#define SYSCALL_ARG3(r) PT_REGS_PARM3_CORE_SYSCALL(r)
#define SYSCALL_ARG4(r) PT_REGS_PARM4_CORE_SYSCALL(r)
#define SYSCALL_ARG5(r) PT_REGS_PARM5_CORE_SYSCALL(r)
/* libbpf 1.1 (Debian 12) stops at the fifth syscall argument */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG6(r) BPF_CORE_READ(r, r9)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_ARG6(r) BPF_CORE_READ(r, regs[5])
#else
#error "exfilmon: sixth syscall argument register unknown for this arch"
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
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	/* a negative int is a huge u32: refused like the kernel does */
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_core_read(&f, sizeof(f), &fds[fd]);
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

#endif /* EXFILMON_BPF_TASK_H */
