/* SPDX-License-Identifier: GPL-2.0-only */
/* The sensor's key for a path, as exfilmond gets it. */
#ifndef EXFILMON_TEST_SENSOR_KEY_H
#define EXFILMON_TEST_SENSOR_KEY_H

#include "sensor.h"

/*
 * The key the hooks see for path, from the kernel (sensor_ops.fd_key), not
 * made up from stat(): on btrfs and overlayfs the two differ. 0 or -errno.
 */
int sensor_path_key(struct sensor *s, const char *path,
		    struct exfilmon_file_key *key);

#endif
