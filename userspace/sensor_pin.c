// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF sensor's state outlives its daemon: every map and every link is
 * pinned in bpffs (docs/design.md "Restarts"). A pinned link keeps its
 * program attached after the daemon that made it is killed, and pinned maps
 * keep counting, so a daemon restarted by systemd takes both over and reads
 * the totals of everything that happened while it was away. The kernel
 * keeps a bpf object while a pin or an fd refers to it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sensor.h"
#include "sensor_pin.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC	0xcafe4a11
#endif

#define SKEL_MAP(sk, i) \
	((struct bpf_map_skeleton *)((char *)(sk)->maps + (i) * (sk)->map_skel_sz))
#define SKEL_PROG(sk, i) \
	((struct bpf_prog_skeleton *)((char *)(sk)->progs + (i) * (sk)->prog_skel_sz))

/*
 * bpffs refuses names with a dot (bpf_lookup(): "reserved for future
 * extensions"), and libbpf names the global-data maps "exfilmon.bss".
 */
static int map_path(char *buf, size_t len, const char *dir,
		    const struct bpf_map *map)
{
	size_t base = strlen(dir) + 1;
	int n = snprintf(buf, len, "%s/%s", dir, bpf_map__name(map));
	char *dot;

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	while ((dot = strchr(buf + base, '.')))
		*dot = '_';
	return 0;
}

static int link_path(char *buf, size_t len, const char *dir,
		     const struct bpf_program *prog)
{
	int n = snprintf(buf, len, "%s/link_%s", dir, bpf_program__name(prog));

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Programs the skeleton attaches; the on-demand iterator is not one. */
static int attached(const struct bpf_program *prog)
{
	return bpf_program__autoattach(prog);
}

int pin_dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && !ret)
			ret = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !ret)
		ret = -errno;
	return ret;
}

/*
 * dir's parent must be a bpffs: pins anywhere else fail with EPERM. systemd
 * mounts one at /sys/fs/bpf; a minimal system (the VM guests) may not.
 */
static int ensure_bpffs(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (!statfs(parent, &fs) && fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(parent, "/sys/fs/bpf"))
		return -ENOTDIR;
	if (mount("bpf", parent, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/*
 * The pinned map fits the one the skeleton would make: same type, sizes
 * and bound (a changed [sensor] table size makes a fresh start), and for
 * .rodata the same bytes, so the same build (object_hash) and ABI.
 */
static int map_fits(struct bpf_map *map, int fd, char *why, size_t whylen)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	const void *want;
	size_t sz;
	void *have;
	int ret;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != bpf_map__type(map) ||
	    info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map)) {
		snprintf(why, whylen, "pinned map %s is %u entries of %u+%u "
			 "bytes, the configuration asks for %u of %u+%u",
			 bpf_map__name(map), info.max_entries, info.key_size,
			 info.value_size, bpf_map__max_entries(map),
			 bpf_map__key_size(map), bpf_map__value_size(map));
		return 0;
	}
	if (!(bpf_map__map_flags(map) & BPF_F_RDONLY_PROG))
		return 1;
	want = bpf_map__initial_value(map, &sz);
	if (!want || sz != info.value_size)
		return 1;
	have = calloc(1, sz);
	if (!have)
		return -ENOMEM;
	ret = bpf_map_lookup_elem(fd, &(__u32){ 0 }, have) ? -errno :
	      !memcmp(have, want, sz);
	free(have);
	if (!ret)
		snprintf(why, whylen, "the pinned programs are of another "
			 "exfilmond build");
	return ret;
}

int pin_adopt(struct bpf_object_skeleton *sk, const char *dir, char *why,
	      size_t whylen)
{
	struct bpf_link **links;
	char path[PATH_MAX];
	int *fds, i, ret = 0;

	why[0] = '\0';
	if (access(dir, F_OK))
		return errno == ENOENT ? 0 : -errno;
	fds = malloc(sk->map_cnt * sizeof(*fds));
	links = calloc(sk->prog_cnt, sizeof(*links));
	if (!fds || !links) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sk->map_cnt; i++)
		fds[i] = -1;
	for (i = 0; i < sk->map_cnt; i++) {
		struct bpf_map *map = *SKEL_MAP(sk, i)->map;

		ret = map_path(path, sizeof(path), dir, map);
		if (ret)
			goto out;
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			ret = 0;
			goto out;
		}
		ret = map_fits(map, fds[i], why, whylen);
		if (ret <= 0)
			goto out;
	}
	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_program *prog = *SKEL_PROG(sk, i)->prog;

		if (!attached(prog))
			continue;
		ret = link_path(path, sizeof(path), dir, prog);
		if (ret)
			goto out;
		links[i] = bpf_link__open(path);
		if (!links[i]) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			ret = 0;
			goto out;
		}
	}
	/* all there and all fit: from here on the skeleton is committed */
	for (i = 0; i < sk->map_cnt; i++) {
		ret = bpf_map__reuse_fd(*SKEL_MAP(sk, i)->map, fds[i]);
		if (ret)
			goto out;
	}
	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_prog_skeleton *ps = SKEL_PROG(sk, i);

		if (!links[i])
			continue;
		/* attached already: only the iterator is loaded anew */
		bpf_program__set_autoload(*ps->prog, false);
		*ps->link = links[i];
		links[i] = NULL;
	}
	ret = 1;
out:
	for (i = 0; links && i < sk->prog_cnt; i++)
		if (links[i])
			bpf_link__destroy(links[i]);
	for (i = 0; fds && i < sk->map_cnt; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(links);
	free(fds);
	return ret;
}

/*
 * By fd, not bpf_map__pin(): libbpf remembers a map as pinned and would
 * not pin it again after someone removed the pin (the self-check does).
 */
int pin_all(struct bpf_object_skeleton *sk, const char *dir)
{
	char path[PATH_MAX];
	int i, ret;

	ret = ensure_bpffs(dir);
	if (ret)
		return ret;
	/* whatever is there is not ours to take over: see pin_adopt() */
	ret = pin_dir_remove(dir);
	if (ret)
		return ret;
	if (mkdir(dir, 0700))
		return -errno;
	for (i = 0; i < sk->map_cnt; i++) {
		struct bpf_map *map = *SKEL_MAP(sk, i)->map;

		ret = map_path(path, sizeof(path), dir, map);
		if (!ret && bpf_obj_pin(bpf_map__fd(map), path))
			ret = -errno;
		if (ret)
			goto err;
	}
	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_prog_skeleton *ps = SKEL_PROG(sk, i);

		if (!attached(*ps->prog))
			continue;
		if (!*ps->link) {
			ret = -ENOENT;
			goto err;
		}
		ret = link_path(path, sizeof(path), dir, *ps->prog);
		if (!ret && bpf_obj_pin(bpf_link__fd(*ps->link), path))
			ret = -errno;
		if (ret)
			goto err;
	}
	return 0;
err:
	pin_dir_remove(dir);
	return ret;
}

/* The kernel's id of the object behind fd: links and maps alike. */
static __u32 obj_id(int fd, int is_link)
{
	struct bpf_link_info li = { 0 };
	struct bpf_map_info mi = { 0 };
	__u32 len;

	if (is_link) {
		len = sizeof(li);
		return bpf_obj_get_info_by_fd(fd, &li, &len) ? 0 : li.id;
	}
	len = sizeof(mi);
	return bpf_obj_get_info_by_fd(fd, &mi, &len) ? 0 : mi.id;
}

/* One pin: there, and ours. 0 or 1 (a problem, said in why). */
static int pin_is(const char *path, int ours, int is_link, char *why,
		  size_t whylen)
{
	int fd = bpf_obj_get(path);
	int bad;

	if (fd < 0) {
		sensor_say(why, whylen, "%s was removed", path);
		return 1;
	}
	bad = obj_id(fd, is_link) != obj_id(ours, is_link);
	close(fd);
	if (bad)
		sensor_say(why, whylen, "%s was replaced by another object",
			   path);
	return bad;
}

int pin_verify(struct bpf_object_skeleton *sk, const char *dir, char *why,
	       size_t whylen)
{
	char path[PATH_MAX];
	int i, bad = 0;

	for (i = 0; i < sk->map_cnt; i++) {
		struct bpf_map *map = *SKEL_MAP(sk, i)->map;

		if (!map_path(path, sizeof(path), dir, map))
			bad += pin_is(path, bpf_map__fd(map), 0, why, whylen);
	}
	for (i = 0; i < sk->prog_cnt; i++) {
		struct bpf_prog_skeleton *ps = SKEL_PROG(sk, i);

		if (!attached(*ps->prog) || !*ps->link)
			continue;
		if (!link_path(path, sizeof(path), dir, *ps->prog))
			bad += pin_is(path, bpf_link__fd(*ps->link), 1, why,
				      whylen);
	}
	return bad;
}
