// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may read what exfilmond keeps: root, and the readers' group
 * ([daemon] group). The socket is 0660 and the store and the JSON log
 * 0640, all root:<group>, so a member can use exfilctl and read the
 * evidence, and nobody else can; which requests a member may make is
 * decided per request (handlers.c, ipc_authorize()).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "daemon.h"
#include "log.h"

gid_t daemon_reader_gid(const char *group)
{
	struct group *g = group && *group ? getgrnam(group) : NULL;

	if (group && *group && !g)
		log_warn("group '%s' does not exist: only root may use "
			 "exfilctl", group);
	return g ? g->gr_gid : (gid_t)-1;
}

/*
 * Give path to the readers' group, or back to root's when there is none.
 * The modes were set at creation (0660 socket, 0640 files) and stay. A
 * file that is not there (a -wal not yet made) is not an error.
 */
static void share_one(const char *path, gid_t gid)
{
	if (lchown(path, (uid_t)-1, gid) && errno != ENOENT)
		log_warn("failed to give %s to group %u: %s", path,
			 (unsigned)gid, strerror(errno));
}

void daemon_share(struct daemon *d)
{
	static const char *const store_files[] = {
		"alerts.db", "alerts.db-wal", "alerts.db-shm",
	};
	gid_t gid = d->reader_gid == (gid_t)-1 ? 0 : d->reader_gid;
	char path[4096];
	size_t i;

	share_one(d->cfg.socket, gid);
	share_one(d->cfg.state_dir, gid);
	for (i = 0; i < sizeof(store_files) / sizeof(store_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir,
			 store_files[i]);
		share_one(path, gid);
	}
	share_one(d->cfg.json_log, gid);
}
