// SPDX-License-Identifier: GPL-2.0-only
/*
 * Abort one TCP or UDP socket by its 4-tuple, for prevent mode (issue 8),
 * with the kernel's sock_diag netlink interface: SOCK_DIAG_BY_FAMILY to find
 * the socket and learn its cookie, then SOCK_DESTROY for that cookie. See
 * sockreset.h for what the caller and the socket's owner see.
 *
 * Kernel behaviour relied on (net/core/sock_diag.c, net/ipv4/inet_diag.c,
 * tcp_diag.c, udp_diag.c; the same from 4.5 to 6.18):
 *  - a NETLINK_SOCK_DIAG socket looks sockets up in its own network
 *    namespace only (sock_net(in_skb->sk)): the daemon can reset the
 *    connections of its own netns and no other;
 *  - SOCK_DESTROY reaches sock_diag_destroy(), which wants CAP_NET_ADMIN
 *    in the user namespace owning the socket's netns (else -EPERM), then
 *    calls the protocol's diag_destroy: tcp_abort() sends a RST to the peer,
 *    sets sk_err to ECONNABORTED and closes the socket; udp_abort() sets
 *    sk_err and disconnects. Without CONFIG_INET_DIAG_DESTROY the handler
 *    has no destroy and the answer is -EOPNOTSUPP; before 4.5 the message
 *    type is unknown: -EINVAL;
 *  - the "exact" lookup (inet_diag_find_one_icsk(), __udp_diag_destroy())
 *    is the one incoming packets use: when no socket has the 4-tuple it
 *    returns a listener on the local port, or an unconnected UDP socket
 *    bound to it, which SOCK_DESTROY would kill. Hence the lookup first,
 *    the check that the socket found has our 4-tuple, and the destroy by
 *    cookie: sock_diag_check_cookie() makes the kernel refuse any other
 *    socket (-ENOENT), also one that took the 4-tuple in between. Cookies
 *    come from sock_gen_cookie(), never 0;
 *  - udp_dump_one() looks up with src and dst swapped ("for historical
 *    reasons"), __udp_diag_destroy() with them in the order tcp uses;
 *  - the kernel handles a request within our send() (netlink_unicast() to
 *    a kernel socket runs its input there), so the answer is queued when
 *    send() returns and the reads need not block.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "exfilmon_abi.h"
#include "sockreset.h"

_Static_assert(EXFILMON_AF_INET == AF_INET, "EXFILMON_AF_INET is AF_INET");
_Static_assert(EXFILMON_AF_INET6 == AF_INET6, "EXFILMON_AF_INET6 is AF_INET6");
_Static_assert(EXFILMON_PROTO_TCP == IPPROTO_TCP, "PROTO_TCP is IPPROTO_TCP");
_Static_assert(EXFILMON_PROTO_UDP == IPPROTO_UDP, "PROTO_UDP is IPPROTO_UDP");

/* a request: the netlink header and the body */
struct diag_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

/* room for one inet_diag_msg and its attributes, or an error with our request */
#define DIAG_ANSWER_LEN 8192

static bool addr_is_zero(const uint8_t *a, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i])
			return false;
	return true;
}

static int check_dest(const struct exfilmon_dest *d, uint8_t proto)
{
	if (!d || !d->port)
		return -EINVAL;
	if (d->proto && d->proto != proto)
		return -EINVAL;
	switch (d->family) {
	case EXFILMON_AF_INET:
		return addr_is_zero(d->addr, 4) ? -EINVAL : 0;
	case EXFILMON_AF_INET6:
		return addr_is_zero(d->addr, 16) ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/* d's address as the 16 bytes of an inet_diag_sockid address */
static void put_addr(__be32 *out, const struct exfilmon_dest *d, int family)
{
	uint8_t *b = (uint8_t *)out;

	memset(b, 0, 16);
	if (d->family == EXFILMON_AF_INET6) {
		memcpy(b, d->addr, 16);
	} else if (family == AF_INET6) {
		/* ::ffff:a.b.c.d */
		b[10] = 0xff;
		b[11] = 0xff;
		memcpy(b + 12, d->addr, 4);
	} else {
		memcpy(b, d->addr, 4);
	}
}

/* Is addr (as the kernel reported it for a socket of family) d's address? */
static bool same_addr(const __be32 *addr, int family, const struct exfilmon_dest *d)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *b = (const uint8_t *)addr;

	if (d->family == EXFILMON_AF_INET6)
		return family == AF_INET6 && !memcmp(b, d->addr, 16);
	if (family == AF_INET)
		return !memcmp(b, d->addr, 4);
	/* an AF_INET6 socket talking IPv4 */
	return family == AF_INET6 && !memcmp(b, v4mapped, 12) &&
	       !memcmp(b + 12, d->addr, 4);
}

static void fill_req(struct diag_req *req, uint16_t type, uint16_t flags,
		     uint32_t seq, uint8_t proto, int family)
{
	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_len = sizeof(*req);
	req->nlh.nlmsg_type = type;
	req->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	req->nlh.nlmsg_seq = seq;
	req->r.sdiag_family = family;
	req->r.sdiag_protocol = proto;
	req->r.idiag_states = ~0u;
	req->r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

/* The id of the socket local <-> peer, in the orientation tcp_diag uses. */
static void fill_id(struct inet_diag_sockid *id, const struct exfilmon_dest *local,
		    const struct exfilmon_dest *peer, int family)
{
	id->idiag_sport = htons(local->port);
	id->idiag_dport = htons(peer->port);
	put_addr(id->idiag_src, local, family);
	put_addr(id->idiag_dst, peer, family);
}

static int diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

static int diag_send(int fd, const struct diag_req *req)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		n = sendto(fd, req, sizeof(*req), 0, (struct sockaddr *)&kernel,
			   sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*req) ? 0 : -EIO;
}

/*
 * The kernel's answer to request seq: 0 with *msg filled when it sent a
 * socket (msg may be NULL when none is expected), 0 for an ack or an
 * NLMSG_DONE without error, else its negative errno.
 */
static int diag_answer(int fd, uint32_t seq, struct inet_diag_msg *msg)
{
	union {
		char buf[DIAG_ANSWER_LEN];
		struct nlmsghdr align;
	} u;
	const struct nlmsghdr *h;
	ssize_t n;
	size_t left;

	for (;;) {
		do {
			n = recv(fd, u.buf, sizeof(u.buf), MSG_DONTWAIT | MSG_TRUNC);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n > (ssize_t)sizeof(u.buf))
			return -EMSGSIZE;
		/* NLMSG_OK() mixes signed and unsigned: the same, unsigned */
		for (h = &u.align, left = n;
		     left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) &&
		     h->nlmsg_len <= left;
		     left -= NLMSG_ALIGN(h->nlmsg_len) < left ?
			     NLMSG_ALIGN(h->nlmsg_len) : left,
		     h = (void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len))) {
			if (h->nlmsg_seq != seq)
				continue;
			switch (h->nlmsg_type) {
			case NLMSG_ERROR: {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error;
			}
			case NLMSG_DONE: {
				int err = 0;

				/* a dump's own errno follows its DONE */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
					memcpy(&err, NLMSG_DATA(h), sizeof(err));
				return err;
			}
			case SOCK_DIAG_BY_FAMILY:
				/* a dump's sockets: only its end matters */
				if (h->nlmsg_flags & NLM_F_MULTI)
					break;
				/* an exact lookup answers once, unacked */
				if (!msg || h->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)))
					return -EIO;
				memcpy(msg, NLMSG_DATA(h), sizeof(*msg));
				return 0;
			default:
				break;
			}
		}
	}
}

/*
 * Look the socket local <-> peer up as family (AF_INET, or AF_INET6 for
 * IPv6 and v4-mapped addresses) and give its cookie, or -ENOENT when the
 * socket the kernel found is not exactly that one.
 */
static int diag_find(int fd, uint32_t seq, uint8_t proto, int family,
		     const struct exfilmon_dest *local,
		     const struct exfilmon_dest *peer, uint32_t cookie[2])
{
	struct inet_diag_msg msg;
	struct diag_req req;
	int err;

	fill_req(&req, SOCK_DIAG_BY_FAMILY, 0, seq, proto, family);
	if (proto == EXFILMON_PROTO_UDP)
		fill_id(&req.r.id, peer, local, family);
	else
		fill_id(&req.r.id, local, peer, family);
	err = diag_send(fd, &req);
	if (err)
		return err;
	err = diag_answer(fd, seq, &msg);
	if (err)
		return err;

	if (ntohs(msg.id.idiag_sport) != local->port ||
	    ntohs(msg.id.idiag_dport) != peer->port ||
	    !same_addr(msg.id.idiag_src, msg.idiag_family, local) ||
	    !same_addr(msg.id.idiag_dst, msg.idiag_family, peer))
		return -ENOENT;
	cookie[0] = msg.id.idiag_cookie[0];
	cookie[1] = msg.id.idiag_cookie[1];
	return 0;
}

static int diag_destroy(int fd, uint32_t seq, uint8_t proto, int family,
			const struct exfilmon_dest *local,
			const struct exfilmon_dest *peer, const uint32_t cookie[2])
{
	struct diag_req req;
	int err;

	fill_req(&req, SOCK_DESTROY, NLM_F_ACK, seq, proto, family);
	fill_id(&req.r.id, local, peer, family);
	req.r.id.idiag_cookie[0] = cookie[0];
	req.r.id.idiag_cookie[1] = cookie[1];
	err = diag_send(fd, &req);
	if (err)
		return err;
	return diag_answer(fd, seq, NULL);
}

int sock_reset(uint8_t proto, const struct exfilmon_dest *local,
	       const struct exfilmon_dest *peer)
{
	uint32_t cookie[2];
	int fd, err, family;

	if (proto != EXFILMON_PROTO_TCP && proto != EXFILMON_PROTO_UDP)
		return -EINVAL;
	if (check_dest(local, proto) || check_dest(peer, proto) ||
	    local->family != peer->family)
		return -EINVAL;

	fd = diag_open();
	if (fd < 0)
		return fd;

	family = local->family;
	err = diag_find(fd, 1, proto, family, local, peer, cookie);
	/*
	 * An AF_INET6 socket connected to ::ffff:a.b.c.d: the kernels we
	 * know find it with the AF_INET request too (one established hash
	 * for both families), but the v4-mapped AF_INET6 request is the
	 * one that names it as it is, and costs a round trip only on a miss.
	 */
	if (err == -ENOENT && family == EXFILMON_AF_INET) {
		family = AF_INET6;
		err = diag_find(fd, 2, proto, family, local, peer, cookie);
	}
	if (err)
		goto out_close;

	err = diag_destroy(fd, 3, proto, family, local, peer, cookie);
out_close:
	close(fd);
	return err;
}

int sock_reset_probe(uint8_t proto, uint8_t family)
{
	/* cookie 0 is never a socket's: the destroy can touch nothing */
	static const uint32_t no_socket[2];
	struct exfilmon_dest none = { .family = family };
	struct diag_req req;
	int fd, err;

	if (proto != EXFILMON_PROTO_TCP && proto != EXFILMON_PROTO_UDP)
		return -EINVAL;
	if (family != EXFILMON_AF_INET && family != EXFILMON_AF_INET6)
		return -EINVAL;

	fd = diag_open();
	if (fd < 0)
		return fd;

	/*
	 * Is there a handler? A dump of no states lists nothing, and ends
	 * in -ENOENT when inet_diag, or tcp_diag/udp_diag, is missing: the
	 * same errno a missing socket gives sock_reset().
	 */
	fill_req(&req, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, 1, proto, family);
	req.r.idiag_states = 0;
	err = diag_send(fd, &req);
	if (!err)
		err = diag_answer(fd, 1, NULL);
	if (err)
		goto out_close;

	/*
	 * Does it destroy? -EOPNOTSUPP comes before any lookup; with destroy
	 * built in, no socket has local port 0: -ENOENT.
	 */
	err = diag_destroy(fd, 2, proto, family, &none, &none, no_socket);
	if (err == -ENOENT)
		err = 0;
	else if (!err)
		err = -EIO;
out_close:
	close(fd);
	return err;
}
