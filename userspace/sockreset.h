/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prevent mode's reset of a connection that a process opened before it
 * crossed the threshold (issue 8): the eBPF sensor already drops the
 * connection's packets in the kernel, and the daemon then aborts the socket
 * by its 4-tuple with the kernel's sock_diag SOCK_DESTROY (what `ss -K`
 * uses, CONFIG_INET_DIAG_DESTROY, since 4.5). The peer gets a RST and the
 * owner's next send() or recv() fails with ECONNABORTED, so the thief learns
 * at once instead of retransmitting into a black hole.
 */
#ifndef EXFILMON_SOCKRESET_H
#define EXFILMON_SOCKRESET_H

#include <stdint.h>

#include "exfilmon_abi.h"

/*
 * Abort the socket whose local end is *local and whose peer is *peer, both
 * of family EXFILMON_AF_INET or EXFILMON_AF_INET6 (the same one), ports in
 * host order; proto is EXFILMON_PROTO_TCP or EXFILMON_PROTO_UDP.
 *
 * Only a socket with exactly that 4-tuple is aborted, never a listener that
 * shares the local port, nor an unconnected UDP socket bound to it: the
 * kernel's exact lookup falls back to those (inet_lookup() and
 * __udp4_lib_lookup() score wildcards), so the socket is first looked up
 * with SOCK_DIAG_BY_FAMILY, its reported 4-tuple compared with ours, and
 * then destroyed by its cookie. A socket closed and replaced in between
 * has another cookie and is left alone (-ENOENT).
 *
 * An IPv4 4-tuple also finds an AF_INET6 socket with v4-mapped addresses.
 * Only the network namespace the caller is in is searched.
 *
 * TCP: tcp_abort() sends the peer a RST, sets sk_err to ECONNABORTED and
 * closes the socket; the owner's next call fails with ECONNABORTED.
 * UDP: udp_abort() sets sk_err to ECONNABORTED once and disconnects the
 * socket, which stays usable: only its next call fails.
 *
 * Returns 0 once the kernel has aborted the socket, or
 *   -EINVAL	  bad arguments (nothing was sent to the kernel); also a
 *		  kernel older than 4.5, which has no SOCK_DESTROY message;
 *   -ENOENT	  no socket with that 4-tuple; also a kernel whose
 *		  inet_diag, tcp_diag or udp_diag is a module not loaded (and
 *		  not loadable): sock_reset_probe() tells the two apart;
 *   -EOPNOTSUPP  the kernel was built without CONFIG_INET_DIAG_DESTROY;
 *   -EPERM	  no CAP_NET_ADMIN in the socket's user namespace;
 *   or another negative errno from socket(), send() or recv().
 */
int sock_reset(uint8_t proto, const struct exfilmon_dest *local,
	       const struct exfilmon_dest *peer);

/*
 * Can sock_reset() abort proto's sockets of family (EXFILMON_AF_*) here?
 * Without touching any socket: 0 if it can, -EOPNOTSUPP or -EINVAL (as
 * above) if the kernel lacks SOCK_DESTROY, -ENOENT if the kernel has no
 * diag handler for that family and protocol (module not loaded). It cannot
 * tell whether the caller has CAP_NET_ADMIN.
 */
int sock_reset_probe(uint8_t proto, uint8_t family);

#endif /* EXFILMON_SOCKRESET_H */
