/* SPDX-License-Identifier: GPL-2.0-only */
/* Generated customer records: the watched data of the tests. */
#ifndef EXFILMON_TEST_CUSTOMERS_H
#define EXFILMON_TEST_CUSTOMERS_H

#include <stddef.h>

/*
 * Write at least min_bytes of CSV customer records (name, account id,
 * phone) to path; returns the file's exact size, or -1.
 */
long customers_write(const char *path, size_t min_bytes);

#endif
