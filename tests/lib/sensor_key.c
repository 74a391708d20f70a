// SPDX-License-Identifier: GPL-2.0-only
/* The sensor's key for a path, as exfilmond gets it. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "sensor_key.h"

int sensor_path_key(struct sensor *s, const char *path,
		    struct exfilmon_file_key *key)
{
	/* O_PATH: nothing is read, so the lookup taints nothing */
	int fd = open(path, O_PATH | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = s->ops->fd_key(s, fd, key);
	close(fd);
	return ret;
}
