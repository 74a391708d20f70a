/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a send goes: the socket's connected peer, or for an unconnected
 * datagram socket the address the caller passed to sendto()/sendmsg().
 */
#ifndef EXFILMON_BPF_NET_H
#define EXFILMON_BPF_NET_H

#define AF_UNIX		1
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

/* The sock behind a socket file (sock_alloc_file() keeps the struct
 * socket in private_data). */
static __always_inline struct sock *file_sock(struct file *f)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);

	return BPF_CORE_READ(sock, sk);
}

/* sk if it is a TCP or UDP inet socket, else NULL. */
static __always_inline struct sock *inet_sock_of(struct sock *sk)
{
	__u16 family, proto;

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

/* 127.0.0.0/8 and ::1 (v4-mapped addresses are folded already). */
static __always_inline bool dest_is_loopback(const struct exfilmon_dest *d)
{
	const __u32 *w = (const __u32 *)d->addr;

	if (d->family == EXFILMON_AF_INET)
		return d->addr[0] == 127;
	return !w[0] && !w[1] && !w[2] && w[3] == bpf_htonl(1);
}

/*
 * The stream key of a loopback flow, as its writer names it (see
 * EXFILMON_KEY_TAG_INET). A TCP connection is keyed by its 4-tuple; a UDP
 * receiver only by its port, since it may be bound to a wildcard address
 * while the sender names 127.0.0.1.
 */
static __always_inline void inet_key(struct exfilmon_file_key *k, __u8 proto,
				     __u16 sport, __u16 dport, __u32 saddr,
				     __u32 daddr)
{
	if (proto == EXFILMON_PROTO_UDP) {
		sport = 0;
		saddr = daddr = 0;
	}
	k->dev = EXFILMON_KEY_TAG_INET | (__u64)proto << 40 |
		 (__u64)sport << 16 | dport;
	k->ino = (__u64)saddr << 32 | daddr;
}

/* The local (rcv) and peer IPv4 addresses of sk: 0 for real IPv6. */
static __always_inline void sock_v4_addrs(struct sock *sk, __u32 *local,
					  __u32 *peer)
{
	struct in6_addr a;

	*local = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	*peer = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET6)
		return;
	/* An IPv6 socket with a v4-mapped peer keeps the IPv4 addresses in
	 * the IPv4 fields; a real IPv6 one has a placeholder there
	 * (tcp_v6_connect() sets LOOPBACK4_IPV6), so use 0, as the
	 * writer's side does for ::1. */
	a = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
	if (a.in6_u.u6_addr32[0] || a.in6_u.u6_addr32[1] ||
	    a.in6_u.u6_addr32[2] != bpf_htonl(0xffff))
		*local = *peer = 0;
}

/* Key of a send from sk to the loopback dest d. */
static __always_inline void inet_key_of_send(struct sock *sk,
					     const struct exfilmon_dest *d,
					     struct exfilmon_file_key *k)
{
	__u32 local, peer;

	sock_v4_addrs(sk, &local, &peer);
	inet_key(k, d->proto, BPF_CORE_READ(sk, __sk_common.skc_num), d->port,
		 d->family == EXFILMON_AF_INET ? local : 0,
		 d->family == EXFILMON_AF_INET ? *(const __u32 *)d->addr : 0);
}

/* Key of what sk receives: the writer's key seen from the other end. */
static __always_inline void inet_key_of_recv(struct sock *sk,
					     struct exfilmon_file_key *k)
{
	__u32 local, peer;

	sock_v4_addrs(sk, &local, &peer);
	inet_key(k, BPF_CORE_READ(sk, sk_protocol),
		 bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)),
		 BPF_CORE_READ(sk, __sk_common.skc_num), peer, local);
}

#endif /* EXFILMON_BPF_NET_H */
