/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A test host: a network namespace the test creates, joined to this one by
 * a veth pair, with addresses from the benchmarking ranges 198.18.0.0/15 and
 * 2001:db8::/32. Test traffic goes only there (or to loopback).
 */
#ifndef EXFILMON_TEST_TESTHOST_H
#define EXFILMON_TEST_TESTHOST_H

#include <stdint.h>
#include <sys/types.h>

struct testhost {
	char ns[32];		/* netns name */
	char veth[16];		/* our end */
	char local4[16];	/* our address, 198.18.N.1 */
	char remote4[16];	/* the test host, 198.18.N.2 */
	char local6[40];	/* 2001:db8:N::1 */
	char remote6[40];	/* 2001:db8:N::2 */
	int idx;
};

/* Create test host number idx (0..255); 0 or -1 (message on stderr). */
int testhost_create(struct testhost *th, int idx);
void testhost_destroy(struct testhost *th);

/* Run fn(arg) in a child that has joined the test host's namespace. */
pid_t testhost_spawn(struct testhost *th, int (*fn)(void *arg), void *arg);

struct sink {
	pid_t pid;
	int result_fd;	/* the sink writes its byte count here at the end */
	uint16_t port;
};

/*
 * A receiver on the test host: TCP (SOCK_STREAM) accepts one connection and
 * counts until EOF; UDP (SOCK_DGRAM) counts until 500 ms pass without a
 * datagram. family is AF_INET or AF_INET6. Ready when this returns.
 */
int sink_start(struct testhost *th, int family, int type, uint16_t port,
	       struct sink *sk);

/* sink_start_many() flags */
#define SINK_HTTP	0x1	/* each connection is one HTTP request */

/*
 * A receiver on the test host for n senders. TCP (SOCK_STREAM): accepts n
 * connections, served together, and counts what arrives on all of them
 * until each has ended. With SINK_HTTP each connection carries one HTTP
 * request with a Content-Length body: the body is counted (the headers are
 * not) and answered "200 OK", as a web server would, so that an HTTP
 * client such as curl finishes. UDP (SOCK_DGRAM): counts n datagrams, with
 * a receive buffer large enough that a burst is not dropped. Either gives
 * up 30 s after the last byte, and the count then falls short. Ready when
 * this returns; sink_wait() gives the total.
 */
int sink_start_many(struct testhost *th, int family, int type, uint16_t port,
		    int n, unsigned int flags, struct sink *sk);

/* Wait for the sink; returns the bytes it received or -1. */
int64_t sink_wait(struct sink *sk);

/* Run a shell command, quietly; 0 on success. */
int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
