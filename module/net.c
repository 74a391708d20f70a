// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sockets, the module's copy of bpf/net.h: where a write on a socket goes
 * (a Unix peer, a loopback flow, or a send to a destination) and what a
 * read on one receives, as stream keys (EXFILMON_KEY_TAG_*).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <net/af_unix.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include "exfilmon.h"

/*
 * A Unix stream is keyed by its receiving socket. The eBPF sensor uses the
 * struct sock's address; here it is hashed, with a key drawn at load, so
 * the tables and records the daemon reads never hold a kernel address.
 */
static siphash_key_t unix_id_key;

void exfilmon_net_init(void)
{
	get_random_bytes(&unix_id_key, sizeof(unix_id_key));
}

static void unix_key(const struct sock *sk, struct exfilmon_file_key *key)
{
	key->dev = EXFILMON_KEY_TAG_UNIX;
	key->ino = siphash_1u64((u64)(unsigned long)sk, &unix_id_key);
}

/* The sock behind a socket file, or NULL for anything else. */
struct sock *exfilmon_file_sock(struct file *f)
{
	struct socket *sock = sock_from_file(f);

	/* our file reference keeps sock->sk until the last close */
	return sock ? READ_ONCE(sock->sk) : NULL;
}

/* TCP and UDP over IPv4 or IPv6; raw and other protocols are a known gap */
static bool sock_is_inet(const struct sock *sk)
{
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return false;
	return sk->sk_protocol == IPPROTO_TCP || sk->sk_protocol == IPPROTO_UDP;
}

/* ::ffff:a.b.c.d is an IPv4 peer; fold it so one host has one key. */
void exfilmon_dest_fold_v4mapped(struct exfilmon_dest *d)
{
	static const u8 v4mapped[12] = {
		[10] = 0xff, [11] = 0xff,
	};

	if (d->family != EXFILMON_AF_INET6 ||
	    memcmp(d->addr, v4mapped, sizeof(v4mapped)))
		return;
	memcpy(d->addr, d->addr + 12, 4);
	memset(d->addr + 4, 0, 12);
	d->family = EXFILMON_AF_INET;
}

static void dest_from_sock(const struct sock *sk, struct exfilmon_dest *d)
{
	d->proto = sk->sk_protocol;
	d->port = ntohs(READ_ONCE(sk->sk_dport));
	if (sk->sk_family == AF_INET) {
		__be32 daddr = READ_ONCE(sk->sk_daddr);

		d->family = EXFILMON_AF_INET;
		memcpy(d->addr, &daddr, sizeof(daddr));
	} else {
		d->family = EXFILMON_AF_INET6;
#if IS_ENABLED(CONFIG_IPV6)
		memcpy(d->addr, &sk->sk_v6_daddr, sizeof(d->addr));
#endif
	}
	exfilmon_dest_fold_v4mapped(d);
}

/*
 * The destination of one send on sk, into a zeroed *d. A stream socket
 * always goes to its peer (TCP ignores a sendto() address once
 * connected); a datagram socket uses the caller's address when one was
 * given. The caller's sockaddr is user memory, read without faulting.
 */
static void dest_of_send(const struct sock *sk, const void __user *uaddr,
			 u32 ulen, struct exfilmon_dest *d)
{
	sa_family_t family;

	dest_from_sock(sk, d);
	if (!uaddr || sk->sk_type == SOCK_STREAM)
		return;
	if (copy_from_user_nofault(&family, uaddr, sizeof(family)))
		return;
	if (family == AF_INET && ulen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		if (copy_from_user_nofault(&sin, uaddr, sizeof(sin)))
			return;
		memset(d->addr, 0, sizeof(d->addr));
		memcpy(d->addr, &sin.sin_addr, 4);
		d->port = ntohs(sin.sin_port);
		d->family = EXFILMON_AF_INET;
	} else if (family == AF_INET6 &&
		   ulen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		if (copy_from_user_nofault(&sin6, uaddr, sizeof(sin6)))
			return;
		memcpy(d->addr, &sin6.sin6_addr, 16);
		d->port = ntohs(sin6.sin6_port);
		d->family = EXFILMON_AF_INET6;
		exfilmon_dest_fold_v4mapped(d);
	}
}

/* 127.0.0.0/8 and ::1 (v4-mapped addresses are folded already). */
bool exfilmon_dest_is_loopback(const struct exfilmon_dest *d)
{
	static const u8 v6_loopback[16] = { [15] = 1 };

	if (d->family == EXFILMON_AF_INET)
		return d->addr[0] == 127;
	return !memcmp(d->addr, v6_loopback, sizeof(v6_loopback));
}

/* The local end of sk, as the daemon names a socket to reset. */
void exfilmon_sock_local(const struct sock *sk, struct exfilmon_dest *l)
{
	memset(l, 0, sizeof(*l));
	l->proto = sk->sk_protocol;
	l->port = READ_ONCE(sk->sk_num);
	if (sk->sk_family == AF_INET) {
		__be32 saddr = READ_ONCE(sk->sk_rcv_saddr);

		l->family = EXFILMON_AF_INET;
		memcpy(l->addr, &saddr, sizeof(saddr));
		return;
	}
	l->family = EXFILMON_AF_INET6;
#if IS_ENABLED(CONFIG_IPV6)
	memcpy(l->addr, &sk->sk_v6_rcv_saddr, sizeof(l->addr));
#endif
	exfilmon_dest_fold_v4mapped(l);
}

/*
 * The stream key of a loopback flow, as its writer names it (see
 * EXFILMON_KEY_TAG_INET; ports in host order, addresses as the network
 * order u32 read as is). A TCP connection is keyed by its 4-tuple; a UDP
 * receiver only by its port, since it may be bound to a wildcard address
 * while the sender names 127.0.0.1.
 */
static void inet_key(struct exfilmon_file_key *key, u8 proto, u16 sport,
		     u16 dport, u32 saddr, u32 daddr)
{
	if (proto == IPPROTO_UDP) {
		sport = 0;
		saddr = 0;
		daddr = 0;
	}
	key->dev = EXFILMON_KEY_TAG_INET | (u64)proto << 40 |
		   (u64)sport << 16 | dport;
	key->ino = (u64)saddr << 32 | daddr;
}

/* The local (bound) and peer IPv4 addresses of sk: 0 for real IPv6. */
static void sock_v4_addrs(const struct sock *sk, u32 *local, u32 *peer)
{
	*local = (__force u32)READ_ONCE(sk->sk_rcv_saddr);
	*peer = (__force u32)READ_ONCE(sk->sk_daddr);
#if IS_ENABLED(CONFIG_IPV6)
	/*
	 * An IPv6 socket with a v4-mapped peer keeps the IPv4 addresses in
	 * the IPv4 fields; a real IPv6 one has a placeholder there
	 * (tcp_v6_connect() sets LOOPBACK4_IPV6), so use 0, as the writer's
	 * side does for ::1.
	 */
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		*local = 0;
		*peer = 0;
	}
#endif
}

/*
 * What a write of the current, tracked process on sk means:
 *  - EXFILMON_SOCK_STREAM: taint goes into stream *key through *chan (a
 *    connected Unix socket's peer, or a loopback TCP or UDP flow);
 *  - EXFILMON_SOCK_SEND: bytes go to *dest, a non-loopback inet peer;
 *  - EXFILMON_SOCK_NONE: neither.
 */
int exfilmon_sock_write(struct sock *sk, const void __user *uaddr, u32 ulen,
			struct exfilmon_file_key *key, u32 *chan,
			struct exfilmon_dest *dest)
{
	u32 local, peer, v4;

	if (sk->sk_family == AF_UNIX) {
		/*
		 * The peer holds a reference while connected; only its
		 * address is used. An unconnected datagram send names its
		 * peer by path: a known gap (docs/flow.md).
		 */
		struct sock *other = READ_ONCE(unix_peer(sk));

		if (!other)
			return EXFILMON_SOCK_NONE;
		unix_key(other, key);
		*chan = EXFILMON_CHAN_UNIX;
		return EXFILMON_SOCK_STREAM;
	}
	if (!sock_is_inet(sk))
		return EXFILMON_SOCK_NONE;
	dest_of_send(sk, uaddr, ulen, dest);
	if (!exfilmon_dest_is_loopback(dest))
		return EXFILMON_SOCK_SEND;
	sock_v4_addrs(sk, &local, &peer);
	memcpy(&v4, dest->addr, sizeof(v4));
	inet_key(key, dest->proto, READ_ONCE(sk->sk_num), dest->port,
		 dest->family == EXFILMON_AF_INET ? local : 0,
		 dest->family == EXFILMON_AF_INET ? v4 : 0);
	*chan = dest->proto == IPPROTO_TCP ? EXFILMON_CHAN_TCP :
					     EXFILMON_CHAN_UDP;
	return EXFILMON_SOCK_STREAM;
}

/*
 * The stream key of what sk receives: for a Unix socket itself, for a
 * TCP or UDP one the key its writer used, seen from the other end.
 * -ENOENT for sockets that carry no stream.
 */
int exfilmon_sock_read_key(struct sock *sk, struct exfilmon_file_key *key)
{
	u32 local, peer;

	if (sk->sk_family == AF_UNIX) {
		unix_key(sk, key);
		return 0;
	}
	if (!sock_is_inet(sk))
		return -ENOENT;
	sock_v4_addrs(sk, &local, &peer);
	inet_key(key, sk->sk_protocol, ntohs(READ_ONCE(sk->sk_dport)),
		 READ_ONCE(sk->sk_num), peer, local);
	return 0;
}
