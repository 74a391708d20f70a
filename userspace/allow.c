// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parsing the arguments of exfilctl allow: a destination and a duration.
 * Shared by exfilctl (a usage error before anything is sent) and exfilmond
 * (which decides), so both read a value the same way.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "allow.h"
#include "units.h"

static const uint8_t v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

/* A decimal port, 1 to 65535, digits only. */
static int parse_port(const char *s, uint16_t *port, const char **why)
{
	unsigned long v = 0;

	if (!*s) {
		*why = "empty port after ':'";
		return -EINVAL;
	}
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s)) {
			*why = "the port must be a number from 1 to 65535";
			return -EINVAL;
		}
		v = v * 10 + (*s - '0');
		if (v > 65535) {
			*why = "port out of range (1 to 65535)";
			return -EINVAL;
		}
	}
	if (!v) {
		/* 0 would read as "every port": say so rather than guess */
		*why = "port 0 is not a port (leave :PORT out to allow every "
		       "port)";
		return -EINVAL;
	}
	*port = v;
	return 0;
}

int allow_parse_dest(const char *s, struct exfilmon_dest *dest,
		     const char **why)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *end;
	size_t n;

	memset(dest, 0, sizeof(*dest));
	if (!s || !*s) {
		*why = "empty destination";
		return -EINVAL;
	}
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end) {
			*why = "'[' without ']' (write [2001:db8::2]:443)";
			return -EINVAL;
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1]) {
			*why = "text after ']' (write [2001:db8::2]:443)";
			return -EINVAL;
		}
		s++;
		n = end - s;
	} else {
		end = strchr(s, ':');
		/* one colon: IPv4 and a port; more: a bare IPv6 address */
		if (end && !strchr(end + 1, ':')) {
			port = end + 1;
			n = end - s;
		} else {
			n = strlen(s);
		}
	}
	if (n >= sizeof(addr)) {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, dest->addr) == 1) {
		dest->family = EXFILMON_AF_INET;
	} else if (inet_pton(AF_INET6, addr, dest->addr) == 1) {
		dest->family = EXFILMON_AF_INET6;
		if (!memcmp(dest->addr, v4_mapped, sizeof(v4_mapped))) {
			memmove(dest->addr, dest->addr + 12, 4);
			memset(dest->addr + 4, 0, 12);
			dest->family = EXFILMON_AF_INET;
		}
	} else {
		*why = strchr(addr, '%') ?
			"IPv6 zone indexes (%...) are not accepted" :
			"not an IPv4 or IPv6 address (IPv6 with a port: "
			"[2001:db8::2]:443)";
		return -EINVAL;
	}
	if (port && parse_port(port, &dest->port, why))
		return -EINVAL;
	return 0;
}

int allow_parse_for(const char *s, uint64_t *ns, const char **why)
{
	if (parse_duration(s, ns, why))
		return -EINVAL;
	if (!*ns) {
		*why = "must be greater than 0";
		return -EINVAL;
	}
	if (*ns > ALLOW_MAX_NS) {
		*why = "must be at most 30d";
		return -EINVAL;
	}
	return 0;
}

void allow_format_dest(const struct exfilmon_dest *dest, char *buf,
		       size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int v6 = dest->family == EXFILMON_AF_INET6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, dest->addr, addr, sizeof(addr));
	if (!dest->port)
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", addr, dest->port);
}
