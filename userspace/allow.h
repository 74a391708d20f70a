/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arguments of an override (exfilctl allow): its destination and its
 * length. exfilctl checks them to answer a typo with a usage error, and
 * exfilmond checks them again, as it trusts no client.
 */
#ifndef EXFILMON_ALLOW_H
#define EXFILMON_ALLOW_H

#include <stdint.h>
#include "exfilmon_abi.h"

/* The longest override: the security team renews rather than forgets. */
#define ALLOW_MAX_NS	(30ULL * 86400 * 1000000000ULL)

/*
 * "198.51.100.7", "198.51.100.7:443", "2001:db8::2", "[2001:db8::2]" or
 * "[2001:db8::2]:443" into dest (port 0: every port). A v4-mapped IPv6
 * address is folded to IPv4, as the sensor folds destinations. 0, or
 * -EINVAL with *why set to a static reason.
 */
int allow_parse_dest(const char *s, struct exfilmon_dest *dest,
		     const char **why);

/* A duration (units.h) from 1ns to 30d. 0, or -EINVAL with *why set. */
int allow_parse_for(const char *s, uint64_t *ns, const char **why);

/* dest as ADDR[:PORT] in the form allow_parse_dest() takes; len >= 64. */
void allow_format_dest(const struct exfilmon_dest *dest, char *buf,
		       size_t len);

#endif /* EXFILMON_ALLOW_H */
