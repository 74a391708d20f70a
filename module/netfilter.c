// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prevent mode's hooks on the network (docs/prevent.md "The kernel
 * module"): netfilter NF_INET_LOCAL_OUT, for IPv4 and IPv6, in every
 * network namespace, sees every packet a local TCP or UDP socket sends,
 * before it leaves. In task context the sender is current, and
 * exfilmon_prevent_verdict() decides; in softirq (retransmits, ACK-clocked
 * sends, timers) current is whoever was interrupted, and only the marks
 * of refused TCP sockets decide.
 *
 * A dropped packet (NF_DROP) makes ip_local_out() and ip6_local_out()
 * return -EPERM to the sender: a UDP send fails with EPERM. TCP ignores
 * transmit errors, so a refused TCP socket is marked and every later
 * packet of it dropped, in any context; a refused connect() is aborted
 * with EPERM as well, and an established connection is reset by the
 * daemon (REC_BLOCK, userspace/sockreset.c), whose RST is let through.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "exfilmon.h"

/* TCP header flags, byte 13 of the header */
#define TCP_FLAGS_OFF	13
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_RST	0x04
#define TCP_FLAG_ACK	0x10

/*
 * A drop that returns another error than -EPERM to ip_local_out()'s
 * caller (nf_hook_slow(): NF_DROP_GETERR(), 6.1 to 6.12). The uapi
 * header's NF_DROP_ERR() is hidden from the kernel in 6.12.
 */
#define DROP_ERR(err)	((unsigned int)(err) << NF_VERDICT_QBITS | NF_DROP)

/* What one packet says: its two ends and, for TCP, its flags. */
struct pkt {
	struct exfilmon_dest dest;
	struct exfilmon_dest local;
	u8 tcp_flags;
};

/*
 * The addresses and ports of skb, a packet of a proto socket, from its
 * headers: an unconnected datagram's destination is only there. At
 * LOCAL_OUT the network header is set and linear, and nothing is
 * fragmented yet.
 */
static bool pkt_parse(struct sk_buff *skb, u8 pf, u8 proto, struct pkt *k)
{
	unsigned int thoff;
	__be16 buf[2];
	const __be16 *ports;
	const u8 *flags;
	u8 fbuf;

	memset(k, 0, sizeof(*k));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != proto)
			return false;
		k->dest.family = EXFILMON_AF_INET;
		memcpy(k->dest.addr, &iph->daddr, sizeof(iph->daddr));
		memcpy(k->local.addr, &iph->saddr, sizeof(iph->saddr));
		thoff = skb_network_offset(skb) + iph->ihl * 4;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		u8 nexthdr = ip6h->nexthdr;
		__be16 frag_off;
		int off;

		k->dest.family = EXFILMON_AF_INET6;
		memcpy(k->dest.addr, &ip6h->daddr, sizeof(ip6h->daddr));
		memcpy(k->local.addr, &ip6h->saddr, sizeof(ip6h->saddr));
		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(*ip6h), &nexthdr, &frag_off);
		if (off < 0 || nexthdr != proto)
			return false;
		thoff = off;
	}
	k->local.family = k->dest.family;
	k->dest.proto = proto;
	k->local.proto = proto;
	/* TCP and UDP both start with the source and destination ports */
	ports = skb_header_pointer(skb, thoff, sizeof(buf), buf);
	if (!ports)
		return false;
	k->local.port = ntohs(ports[0]);
	k->dest.port = ntohs(ports[1]);
	exfilmon_dest_fold_v4mapped(&k->dest);
	exfilmon_dest_fold_v4mapped(&k->local);
	if (proto != IPPROTO_TCP)
		return true;
	flags = skb_header_pointer(skb, thoff + TCP_FLAGS_OFF, 1, &fbuf);
	if (!flags)
		return false;
	k->tcp_flags = *flags;
	return true;
}

/*
 * A refused connect(): the SYN is dropped, but tcp_connect() ignores
 * every transmit error except -ECONNREFUSED, and connect() would wait for
 * the SYN's retransmits to time out. tcp_abort() ends it with EPERM, as
 * the eBPF sensor's connect hook does: a blocking connect() wakes in
 * inet_wait_for_connect() to TCP_CLOSE and returns sock_error(); no RST
 * goes out from SYN_SENT (tcp_need_reset()). tcp_abort() takes the socket
 * lock, which the connecting task holds while its SYN passes here: it
 * runs from a work item, with a reference on the socket.
 */
static struct workqueue_struct *abort_wq;

struct abort_work {
	struct work_struct work;
	struct sock *sk;
};

static void abort_fn(struct work_struct *work)
{
	struct abort_work *aw = container_of(work, struct abort_work, work);

	tcp_abort(aw->sk, EPERM);
	sock_put(aw->sk);
	kfree(aw);
}

static bool abort_later(struct sock *sk)
{
	struct abort_work *aw = kmalloc(sizeof(*aw), GFP_ATOMIC);

	if (!aw)
		return false;
	INIT_WORK(&aw->work, abort_fn);
	sock_hold(sk);
	aw->sk = sk;
	queue_work(abort_wq, &aw->work);
	return true;
}

/* A datagram to the peer a UDP socket is connected to: a send, not DGRAM */
static bool udp_to_peer(const struct sock *sk, const struct pkt *k)
{
	return READ_ONCE(sk->sk_state) == TCP_ESTABLISHED &&
	       ntohs(READ_ONCE(inet_sk(sk)->inet_dport)) == k->dest.port;
}

/*
 * The verdict on one packet of sk, a full TCP or UDP socket. The hot path
 * is a packet of a process holding no watched data: a mark look-up (while
 * any socket is marked) and a lock-free peek into the process table.
 */
static unsigned int judge(struct sk_buff *skb, struct sock *sk, u8 pf)
{
	struct exfilmon_refusal r = { .how = EXFILMON_BLOCK_SEND };
	bool tcp = sk->sk_protocol == IPPROTO_TCP, marked = false;
	bool parsed = false;
	unsigned int verdict = NF_DROP;
	struct exfilmon_pkey pkey, who;
	struct exfilmon_proc p;
	struct pkt k;

	if (tcp)
		marked = exfilmon_sock_marked(sk, &who);
	if (marked) {
		parsed = pkt_parse(skb, pf, sk->sk_protocol, &k);
		/* the reset of a refused connection is what tells the peer */
		if (parsed && (k.tcp_flags & TCP_FLAG_RST))
			return NF_ACCEPT;
	}
	/*
	 * Outside task context current is not the sender, and a kernel
	 * socket sends for nobody (TCP's per-CPU control sockets answer
	 * for whole namespaces): marks only.
	 */
	if (!in_task() || sk->sk_kern_sock)
		return marked ? NF_DROP : NF_ACCEPT;
	exfilmon_task_pkey(current, &pkey);
	if (!exfilmon_proc_copy(&pkey, &p))
		return marked ? NF_DROP : NF_ACCEPT;
	if (marked && !exfilmon_pkey_eq(&who, &pkey))
		return NF_DROP;	/* another's refused data may be queued */
	if (!marked)
		parsed = pkt_parse(skb, pf, sk->sk_protocol, &k);
	if (!parsed)
		return marked ? NF_DROP : NF_ACCEPT;
	if (exfilmon_dest_is_loopback(&k.dest))
		return NF_ACCEPT;
	if (exfilmon_prevent_verdict(&p, &k.dest, &r.threshold) ==
	    EXFILMON_VERDICT_PASS) {
		/* an override, or the policy changed: the socket is free */
		if (marked)
			exfilmon_sock_unmark(sk);
		return NF_ACCEPT;
	}
	if (marked)
		return NF_DROP;	/* counted when it was marked */
	r.dest = &k.dest;
	r.local = &k.local;
	r.bytes = skb->len;
	if (tcp && (k.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
		   TCP_FLAG_SYN) {
		/* as the eBPF sensor's connect hook says it */
		r.how = EXFILMON_BLOCK_CONNECT;
		r.op = EXFILMON_OP_CONNECT;
		r.bytes = 0;
		r.local = NULL;
		exfilmon_sock_mark(sk, &pkey);
		/* no memory for the abort: connect() fails at once instead */
		if (!abort_later(sk))
			verdict = DROP_ERR(ECONNREFUSED);
	} else if (tcp) {
		exfilmon_sock_mark(sk, &pkey);
	} else if (!udp_to_peer(sk, &k)) {
		/* as the eBPF sensor's sendmsg hook says it */
		r.how = EXFILMON_BLOCK_DGRAM;
		r.bytes = 0;
		r.local = NULL;
	}
	exfilmon_prevent_refused(&pkey, &p, &r);
	return verdict;
}

static unsigned int local_out(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct sock *sk = skb->sk;

	/* detect mode everywhere: one patched-out branch */
	if (!exfilmon_prevent_enabled())
		return NF_ACCEPT;
	/*
	 * Request and time-wait sockets (SYN-ACKs, the time-wait ACKs) and
	 * listeners belong to no connection a process made; raw sockets
	 * may name TCP or UDP as their protocol, and are a known gap.
	 */
	if (!sk || !sk_fullsock(sk) ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		return NF_ACCEPT;
	if (!(sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM) &&
	    !(sk->sk_protocol == IPPROTO_UDP && sk->sk_type == SOCK_DGRAM))
		return NF_ACCEPT;
	if (READ_ONCE(sk->sk_state) == TCP_LISTEN)
		return NF_ACCEPT;
	return judge(skb, sk, state->pf);
}

/*
 * First of all hooks: the packet is judged as its sender addressed it,
 * before any NAT rewrites the destination and before conntrack records a
 * connection that will never be.
 */
static const struct nf_hook_ops local_out_ops[] = {
	{
		.hook = local_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
	{
		.hook = local_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP6_PRI_FIRST,
	},
};

static int __net_init prevent_net_init(struct net *net)
{
	return nf_register_net_hooks(net, local_out_ops,
				     ARRAY_SIZE(local_out_ops));
}

static void __net_exit prevent_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, local_out_ops, ARRAY_SIZE(local_out_ops));
}

/* every namespace there is, and every one created while we are loaded */
static struct pernet_operations prevent_net_ops = {
	.init = prevent_net_init,
	.exit = prevent_net_exit,
};

int exfilmon_netfilter_init(void)
{
	int err;

	abort_wq = alloc_workqueue("exfilmon_abort", 0, 0);
	if (!abort_wq)
		return -ENOMEM;
	err = register_pernet_subsys(&prevent_net_ops);
	if (err)
		goto out_destroy_wq;
	return 0;

out_destroy_wq:
	destroy_workqueue(abort_wq);
	return err;
}

void exfilmon_netfilter_exit(void)
{
	unregister_pernet_subsys(&prevent_net_ops);
	/* a hook still running on another CPU is done after this */
	synchronize_net();
	/* the aborts queued before run now, and put their sockets */
	destroy_workqueue(abort_wq);
}
