/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a send goes: the socket's connected peer, or for an unconnected
 * datagram socket the address the caller passed to sendto()/sendmsg().
 */
#ifndef EXFILMON_BPF_NET_H
#define EXFILMON_BPF_NET_H

#define AF_INET		2
#define AF_INET6	10
#define SOCK_STREAM	1

/* ::ffff:a.b.c.d is an IPv4 peer; fold it so one host has one key. */
static __always_inline void dest_fold_v4mapped(struct exfilmon_dest *d)
{
	__u32 *w = (__u32 *)d->addr;

	if (d->family != EXFILMON_AF_INET6 || w[0] || w[1] ||
	    w[2] != bpf_htonl(0xffff))
		return;
	w[0] = w[3];
	w[1] = w[2] = w[3] = 0;
	d->family = EXFILMON_AF_INET;
}

/* The inet socket behind a file, or NULL for anything else. */
static __always_inline struct sock *file_inet_sock(struct file *f)
{
	struct socket *sock;
	struct sock *sk;
	__u16 family, proto;

	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	/* sock_alloc_file() stores the struct socket in private_data */
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	/* TCP and UDP for now; raw and
	 * other protocols are a known gap, see docs/design.md */
	proto = BPF_CORE_READ(sk, sk_protocol);
	if (proto != EXFILMON_PROTO_TCP && proto != EXFILMON_PROTO_UDP)
		return NULL;
	return sk;
}

static __always_inline void dest_from_sock(struct sock *sk,
					   struct exfilmon_dest *d)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	d->proto = BPF_CORE_READ(sk, sk_protocol);
	d->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		d->family = EXFILMON_AF_INET;
		bpf_core_read(d->addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		d->family = EXFILMON_AF_INET6;
		bpf_core_read(d->addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	dest_fold_v4mapped(d);
}

/*
 * The destination of one send on sk. A stream socket always goes to its
 * peer (TCP ignores a sendto() address once connected); a datagram socket
 * uses the caller's address when one was given.
 */
static __always_inline int dest_of_send(struct sock *sk, const void *uaddr,
					__u32 ulen, struct exfilmon_dest *d)
{
	__u16 family;

	dest_from_sock(sk, d);
	if (!uaddr || BPF_CORE_READ(sk, sk_type) == SOCK_STREAM)
		return 0;
	if (bpf_probe_read_user(&family, sizeof(family), uaddr))
		return 0;
	if (family == AF_INET && ulen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr))
			return 0;
		__builtin_memset(d->addr, 0, sizeof(d->addr));
		__builtin_memcpy(d->addr, &sin.sin_addr, 4);
		d->port = bpf_ntohs(sin.sin_port);
		d->family = EXFILMON_AF_INET;
	} else if (family == AF_INET6 &&
		   ulen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr))
			return 0;
		__builtin_memcpy(d->addr, &sin6.sin6_addr, 16);
		d->port = bpf_ntohs(sin6.sin6_port);
		d->family = EXFILMON_AF_INET6;
		dest_fold_v4mapped(d);
	}
	return 0;
}

#endif /* EXFILMON_BPF_NET_H */
