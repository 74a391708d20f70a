// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow graph: one node per tainted process, holding the source the
 * sensor names for it (src, src_chan, src_obj: its largest one), and one
 * node per derived file, holding the chain up to its writer as it was when
 * the file was marked. A chain is read backwards from the sender along the
 * sources, up to the reader of the watched file, or up to a derived file,
 * whose snapshot supplies the rest. Nothing here trusts the sources to be a
 * tree: a walk stops at a process it has seen and after ALERT_CHAIN_MAX
 * steps.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "flowgraph.h"
#include "hashtab.h"
#include "store.h"

#define FLOW_READS	8	/* watched files remembered per reader */

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Least recently touched first. */
struct lru {
	struct lru *prev, *next;
};

struct pread {
	struct exfilmon_file_key key;
	uint32_t watch_id;
	uint64_t bytes;
};

/*
 * A process's names, comm and exe, interned: a server's thousands of
 * workers hold one copy, and whether a process ran another image since it
 * was tainted is a comparison of two pointers.
 */
struct pname {
	struct pname *next;		/* in its hash chain */
	uint64_t hash;
	unsigned int refs;
	char comm[EXFILMON_COMM_LEN];
	char exe[];
};

struct pnames {
	struct pname **buckets;
	size_t nr_buckets;		/* power of two */
	size_t count;
};

/*
 * What a walk needs of the process's counters (struct exfilmon_proc less
 * what is only sent or carried): a node per tainted process, and a
 * machine may have tens of thousands.
 */
struct pcount {
	uint64_t taint;
	uint64_t bytes_read;
	uint64_t first_ns;
	uint64_t src_bytes;
	struct exfilmon_pkey src;
	struct exfilmon_file_key src_obj;
	uint32_t watch_id;
	uint32_t src_chan;
};

struct pnode {
	struct hashtab_node node;
	struct exfilmon_pkey key;
	struct lru lru;
	struct pcount p;		/* the latest counters */
	uint64_t seen_ns;		/* last record about it */
	uint64_t exit_ns;		/* 0 while alive */
	struct pname *name0;		/* when first seen tainted */
	struct pname *name;		/* now */
	/*
	 * Watched files read: nearly every reader reads one, so the first
	 * is here, room for the rest (FLOW_READS - 1) is allocated when a
	 * second comes.
	 */
	uint32_t nr_reads;
	struct pread read0;
	struct pread *more;
};

struct dnode {
	struct hashtab_node node;
	struct exfilmon_file_key key;
	struct lru lru;
	struct exfilmon_obj obj;	/* as the store keeps it */
	uint64_t flowed;		/* carried into it, as records say */
	uint64_t saved_taint;
	uint64_t seen_ns;
	char *path;			/* NULL: not known yet */
	char *snap;			/* JSON chain up to the writer */
	int dirty;			/* to be stored */
};

struct flowgraph {
	struct flowgraph_params p;
	struct hashtab procs;		/* of struct pnode */
	struct hashtab files;		/* of struct dnode */
	struct lru procs_lru;
	struct lru files_lru;
	struct pnames names;
	struct flowgraph_stats st;
};

static void lru_init(struct lru *head)
{
	head->prev = head->next = head;
}

static void lru_del(struct lru *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static void lru_touch(struct lru *head, struct lru *l)
{
	if (l->next != l)
		lru_del(l);
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static int pkey_zero(const struct exfilmon_pkey *k)
{
	return !k->tgid && !k->start_ns;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct flowgraph *flowgraph_new(const struct flowgraph_params *p)
{
	struct flowgraph *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->p = *p;
	if (!g->p.max_procs)
		g->p.max_procs = FLOW_MAX_PROCS;
	if (!g->p.max_files)
		g->p.max_files = FLOW_MAX_FILES;
	lru_init(&g->procs_lru);
	lru_init(&g->files_lru);
	g->names.nr_buckets = 64;
	g->names.buckets = calloc(g->names.nr_buckets,
				  sizeof(*g->names.buckets));
	if (!g->names.buckets)
		goto err_free;
	if (hashtab_init(&g->procs, sizeof(struct exfilmon_pkey),
			 offsetof(struct pnode, key)))
		goto err_names;
	if (hashtab_init(&g->files, sizeof(struct exfilmon_file_key),
			 offsetof(struct dnode, key)))
		goto err_procs;
	return g;

err_procs:
	hashtab_destroy(&g->procs);
err_names:
	free(g->names.buckets);
err_free:
	free(g);
	return NULL;
}

/* FNV-1a over comm (as it is kept: cut to EXFILMON_COMM_LEN - 1) and exe */
static uint64_t pname_hash(const char *comm, const char *exe)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < EXFILMON_COMM_LEN - 1 && comm[i]; i++)
		h = (h ^ (unsigned char)comm[i]) * 0x100000001b3ULL;
	/* a separator: ("ab", "c") and ("a", "bc") hash apart */
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (; *exe; exe++)
		h = (h ^ (unsigned char)*exe) * 0x100000001b3ULL;
	return h;
}

static int pname_is(const struct pname *nm, uint64_t hash, const char *comm,
		    const char *exe)
{
	return nm->hash == hash &&
	       !strncmp(nm->comm, comm, EXFILMON_COMM_LEN - 1) &&
	       !strcmp(nm->exe, exe);
}

static void pnames_grow(struct pnames *t)
{
	size_t nr = t->nr_buckets * 2, i;
	struct pname **b = calloc(nr, sizeof(*b)), *nm, *next;

	/* without room the chains only get longer */
	if (!b)
		return;
	for (i = 0; i < t->nr_buckets; i++) {
		for (nm = t->buckets[i]; nm; nm = next) {
			next = nm->next;
			nm->next = b[nm->hash & (nr - 1)];
			b[nm->hash & (nr - 1)] = nm;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nr_buckets = nr;
}

/* The interned (comm, exe), with a reference taken; NULL without memory. */
static struct pname *pname_get(struct pnames *t, const char *comm,
			       const char *exe)
{
	uint64_t hash = pname_hash(comm, exe);
	struct pname **slot = &t->buckets[hash & (t->nr_buckets - 1)], *nm;
	size_t le = strlen(exe) + 1;

	for (nm = *slot; nm; nm = nm->next) {
		if (pname_is(nm, hash, comm, exe)) {
			nm->refs++;
			return nm;
		}
	}
	nm = malloc(sizeof(*nm) + le);
	if (!nm)
		return NULL;
	nm->hash = hash;
	nm->refs = 1;
	copy_str(nm->comm, sizeof(nm->comm), comm);
	memcpy(nm->exe, exe, le);
	nm->next = *slot;
	*slot = nm;
	if (++t->count > t->nr_buckets)
		pnames_grow(t);
	return nm;
}

static void pname_put(struct pnames *t, struct pname *nm)
{
	struct pname **p;

	if (!nm || --nm->refs)
		return;
	for (p = &t->buckets[nm->hash & (t->nr_buckets - 1)]; *p != nm;
	     p = &(*p)->next)
		;
	*p = nm->next;
	t->count--;
	free(nm);
}

static const char *pname_comm(const struct pname *nm)
{
	return nm ? nm->comm : "";
}

static const char *pname_exe(const struct pname *nm)
{
	return nm ? nm->exe : "";
}

/* The i-th of n's reads (i < n->nr_reads). */
static const struct pread *pread_at_c(const struct pnode *n, size_t i)
{
	return i ? &n->more[i - 1] : &n->read0;
}

static struct pread *pread_at(struct pnode *n, size_t i)
{
	return (struct pread *)pread_at_c(n, i);
}

static void pnode_free(struct flowgraph *g, struct pnode *n)
{
	hashtab_remove(&g->procs, &n->node);
	lru_del(&n->lru);
	pname_put(&g->names, n->name0);
	pname_put(&g->names, n->name);
	free(n->more);
	free(n);
}

static void dnode_free(struct flowgraph *g, struct dnode *d)
{
	hashtab_remove(&g->files, &d->node);
	lru_del(&d->lru);
	free(d->path);
	free(d->snap);
	free(d);
}

void flowgraph_free(struct flowgraph *g)
{
	if (!g)
		return;
	while (g->procs_lru.next != &g->procs_lru)
		pnode_free(g, container_of(g->procs_lru.next, struct pnode,
					   lru));
	while (g->files_lru.next != &g->files_lru)
		dnode_free(g, container_of(g->files_lru.next, struct dnode,
					   lru));
	hashtab_destroy(&g->procs);
	hashtab_destroy(&g->files);
	free(g->names.buckets);
	free(g);
}

void flowgraph_stats(const struct flowgraph *g, struct flowgraph_stats *st)
{
	*st = g->st;
	st->procs = g->procs.count;
	st->files = g->files.count;
}

static struct pnode *pnode_find(struct flowgraph *g,
				const struct exfilmon_pkey *key)
{
	return (struct pnode *)hashtab_find(&g->procs, key);
}

/* The node of key, made (evicting the least recently touched) if new. */
static struct pnode *pnode_get(struct flowgraph *g,
			       const struct exfilmon_pkey *key)
{
	struct pnode *n = pnode_find(g, key);

	if (n)
		return n;
	if (g->procs.count >= g->p.max_procs) {
		pnode_free(g, container_of(g->procs_lru.next, struct pnode,
					   lru));
		g->st.procs_evicted++;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->key = *key;
	n->lru.prev = n->lru.next = &n->lru;
	hashtab_insert(&g->procs, &n->node);
	return n;
}

static void set_names(struct flowgraph *g, struct pnode *n, const char *comm,
		      const char *exe)
{
	struct pname *nm;

	if (!comm || !*comm)
		return;
	if (!exe)
		exe = "";
	/* most records repeat the names the node has: no look-up then */
	if (n->name && !strncmp(n->name->comm, comm, EXFILMON_COMM_LEN - 1) &&
	    !strcmp(n->name->exe, exe))
		return;
	nm = pname_get(&g->names, comm, exe);
	if (!nm)
		return;	/* the older names stay: better than none */
	if (!n->name0) {
		nm->refs++;
		n->name0 = nm;
	}
	pname_put(&g->names, n->name);
	n->name = nm;
}

static void pread_add(struct pnode *n, const struct exfilmon_file_key *file,
		      uint32_t watch_id, uint64_t total)
{
	struct pread *r = NULL;
	size_t i;

	for (i = 0; i < n->nr_reads && !r; i++)
		if (!memcmp(&pread_at(n, i)->key, file, sizeof(*file)))
			r = pread_at(n, i);
	if (!r && n->nr_reads == 1 && !n->more)
		n->more = calloc(FLOW_READS - 1, sizeof(*n->more));
	if (!r && n->nr_reads < FLOW_READS && (!n->nr_reads || n->more)) {
		r = pread_at(n, n->nr_reads++);
	} else if (!r) {
		/* the smallest makes room for a larger one only */
		r = pread_at(n, 0);
		for (i = 1; i < n->nr_reads; i++)
			if (pread_at(n, i)->bytes < r->bytes)
				r = pread_at(n, i);
		if (r->bytes >= total)
			return;
		r->bytes = 0;
	}
	if (memcmp(&r->key, file, sizeof(*file))) {
		r->key = *file;
		r->bytes = 0;
	}
	/* 0 (from a process's counters) does not know the watch */
	if (watch_id)
		r->watch_id = watch_id;
	if (total > r->bytes)
		r->bytes = total;
}

/* The counters of p the walks use. */
static void pcount_set(struct pcount *c, const struct exfilmon_proc *p)
{
	c->taint = p->taint;
	c->bytes_read = p->bytes_read;
	c->first_ns = p->first_ns;
	c->src_bytes = p->src_bytes;
	c->src = p->src;
	c->src_obj = p->src_obj;
	c->watch_id = p->watch_id;
	c->src_chan = p->src_chan;
}

void flowgraph_proc(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct exfilmon_proc *p, const char *comm,
		    const char *exe, uint64_t ts)
{
	struct pnode *n = pnode_get(g, key);

	if (!n)
		return;
	/* taint only grows: an older view (a late record) changes nothing */
	if (p->taint >= n->p.taint)
		pcount_set(&n->p, p);
	if (p->src_chan == EXFILMON_CHAN_READ)
		pread_add(n, &p->src_obj, 0, p->src_bytes);
	set_names(g, n, comm, exe);
	if (ts > n->seen_ns)
		n->seen_ns = ts;
	if ((p->flags & EXFILMON_PROC_EXITED) && !n->exit_ns)
		n->exit_ns = ts;
	lru_touch(&g->procs_lru, &n->lru);
}

void flowgraph_read(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct exfilmon_file_key *file, uint32_t watch_id,
		    uint64_t total)
{
	struct pnode *n = pnode_find(g, key);

	if (n)
		pread_add(n, file, watch_id, total);
}

void flowgraph_exec(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const char *comm, const char *exe)
{
	struct pnode *n = pnode_find(g, key);

	if (n)
		set_names(g, n, comm, exe);
}

void flowgraph_exit(struct flowgraph *g, const struct exfilmon_pkey *key,
		    uint64_t ts)
{
	struct pnode *n = pnode_find(g, key);

	if (n && !n->exit_ns)
		n->exit_ns = ts ? ts : 1;
}

/*
 * Derived files.
 */

static int is_shm_path(const char *path)
{
	return path && (!strncmp(path, "/dev/shm/", 9) ||
			!strncmp(path, "/memfd:", 7));
}

void flow_derived_path(const char *comps, size_t len, uint32_t flags,
		       char *buf, size_t size)
{
	size_t end = len, start, used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	if (flags & EXFILMON_DERIVED_TRUNCATED)
		used += snprintf(buf, size, "\xe2\x80\xa6");	/* … */
	/* leaf first: walk the components from the end of the buffer */
	while (end > 0 && used < size) {
		/* a last component the sensor cut has no NUL */
		if (comps[end - 1] == '\0')
			end--;
		start = end;
		while (start > 0 && comps[start - 1] != '\0')
			start--;
		if (end > start)
			used += snprintf(buf + used, size - used, "/%.*s",
					 (int)(end - start), comps + start);
		end = start;
	}
	if (used >= size)
		buf[size - 1] = '\0';
}

static void dnode_save(struct flowgraph *g, struct dnode *d,
		       const struct flow_env *env)
{
	if (!env || !env->store)
		return;
	if (store_derived_put(env->store, &d->key, &d->obj,
			      d->path ? d->path : "", d->snap ? d->snap : "")) {
		g->st.save_failed++;
		return;
	}
	d->saved_taint = d->obj.taint;
	d->dirty = 0;
}

static struct dnode *dnode_insert(struct flowgraph *g,
				  const struct exfilmon_file_key *key,
				  const struct flow_env *env)
{
	struct dnode *d, *old;

	if (g->files.count >= g->p.max_files) {
		old = container_of(g->files_lru.next, struct dnode, lru);
		if (old->dirty)
			dnode_save(g, old, env);
		dnode_free(g, old);
		g->st.files_evicted++;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->key = *key;
	d->lru.prev = d->lru.next = &d->lru;
	hashtab_insert(&g->files, &d->node);
	lru_touch(&g->files_lru, &d->lru);
	return d;
}

/*
 * The derived file key: in memory, else from the store (a mark made
 * before the daemon restarted, or dropped from memory), else new when
 * create is set.
 */
static struct dnode *dnode_get(struct flowgraph *g,
			       const struct exfilmon_file_key *key,
			       const struct flow_env *env, int create)
{
	struct dnode *d = (struct dnode *)hashtab_find(&g->files, key);
	struct exfilmon_obj obj;
	char *path = NULL, *snap = NULL;
	int found = 0;

	if (d) {
		lru_touch(&g->files_lru, &d->lru);
		return d;
	}
	if (env && env->store)
		found = !store_derived_get(env->store, key, &obj, &path,
					   &snap);
	if (!found && !create)
		return NULL;
	d = dnode_insert(g, key, env);
	if (!d || !found) {
		free(path);
		free(snap);
		return d;
	}
	d->obj = obj;
	d->saved_taint = obj.taint;
	d->path = path && *path ? path : NULL;
	d->snap = snap && *snap ? snap : NULL;
	if (!d->path)
		free(path);
	if (!d->snap)
		free(snap);
	return d;
}

static char *snapshot(struct flowgraph *g, const struct exfilmon_pkey *writer,
		      const struct flow_env *env, int *complete);

/*
 * The chain up to the writer, taken when the writer is known: a reader of
 * the file hours later gets it even if every process upstream is gone. It
 * is taken again while the file grows, so it holds the figures of the
 * last write, but never replaced by one that no longer reaches the
 * reader of the watched file.
 */
static void dnode_snapshot(struct flowgraph *g, struct dnode *d,
			   const struct exfilmon_pkey *writer,
			   const struct flow_env *env)
{
	int complete;
	char *snap;

	if (!pnode_find(g, writer))
		return;
	snap = snapshot(g, writer, env, &complete);
	if (!snap)
		return;
	if (d->snap && (!complete || !strcmp(d->snap, snap))) {
		free(snap);
		return;
	}
	free(d->snap);
	d->snap = snap;
	d->dirty = 1;
}

void flowgraph_flow(struct flowgraph *g, const struct exfilmon_pkey *writer,
		    const struct exfilmon_file_key *obj, uint32_t chan,
		    uint32_t watch_id, uint64_t delta, uint64_t ts,
		    const struct flow_env *env)
{
	int file = chan == EXFILMON_CHAN_FILE || chan == EXFILMON_CHAN_SHM;
	struct dnode *d;

	/*
	 * pipes, sockets and loopback flows hold no chain of their own: a
	 * reader's source names the writer
	 */
	if ((obj->dev & EXFILMON_KEY_TAG_MASK) ||
	    (!file && chan != EXFILMON_CHAN_NONE))
		return;
	/* a table walk's objects are mostly pipes: no store lookup each */
	d = dnode_get(g, obj, chan == EXFILMON_CHAN_NONE ? NULL : env, file);
	if (!d)
		return;
	if (!d->obj.flags) {
		d->obj.flags = EXFILMON_OBJ_DERIVED;
		d->obj.watch_id = watch_id;
		d->obj.chan = chan;
	}
	/* the mark's own taint counts the first carry too: the larger */
	d->flowed += delta;
	if (d->flowed > d->obj.taint)
		d->obj.taint = d->flowed;
	d->obj.writer = *writer;
	if (ts > d->obj.last_ns)
		d->obj.last_ns = ts;
	if (ts > d->seen_ns)
		d->seen_ns = ts;
	if (d->obj.taint != d->saved_taint)
		d->dirty = 1;
	/* the first, at once; later ones when stored, once a tick */
	if (!d->snap)
		dnode_snapshot(g, d, writer, env);
}

void flowgraph_derived(struct flowgraph *g, const struct exfilmon_pkey *writer,
		       const struct exfilmon_file_key *key,
		       const struct exfilmon_obj *obj, const char *path,
		       uint64_t ts, const struct flow_env *env)
{
	struct dnode *d = dnode_get(g, key, env, 1);
	char *p;

	if (!d)
		return;
	/* the inode was freed and reused: what we knew was another file */
	if (d->obj.flags && d->obj.gen != obj->gen) {
		free(d->snap);
		free(d->path);
		d->snap = NULL;
		d->path = NULL;
		d->flowed = 0;
		memset(&d->obj, 0, sizeof(d->obj));
	}
	if (obj->taint > d->obj.taint)
		d->obj.taint = obj->taint;
	d->obj.flags = obj->flags | EXFILMON_OBJ_DERIVED;
	d->obj.watch_id = obj->watch_id;
	d->obj.chan = obj->chan;
	d->obj.gen = obj->gen;
	d->obj.writer = *writer;
	if (ts > d->obj.last_ns)
		d->obj.last_ns = ts;
	if (ts > d->seen_ns)
		d->seen_ns = ts;
	if (path && *path && (!d->path || strcmp(d->path, path))) {
		p = strdup(path);
		if (p) {
			free(d->path);
			d->path = p;
		}
	}
	dnode_snapshot(g, d, writer, env);
	/* a new mark is stored at once: it must outlive a crash soon after */
	dnode_save(g, d, env);
	if (!d->dirty && d->saved_taint != d->obj.taint)
		d->dirty = 1;
}

void flowgraph_tick(struct flowgraph *g, uint64_t now_ns,
		    const struct flow_env *env)
{
	struct lru *l, *next;

	for (l = g->files_lru.next; l != &g->files_lru; l = next) {
		struct dnode *d = container_of(l, struct dnode, lru);

		next = l->next;
		if (d->dirty && d->obj.taint != d->saved_taint)
			dnode_snapshot(g, d, &d->obj.writer, env);
		if (d->dirty)
			dnode_save(g, d, env);
		/* the store has it: memory is only a cache */
		if (!d->dirty && env && env->store &&
		    d->seen_ns + g->p.window_ns < now_ns)
			dnode_free(g, d);
	}
	for (l = g->procs_lru.next; l != &g->procs_lru; l = next) {
		struct pnode *n = container_of(l, struct pnode, lru);

		next = l->next;
		if (n->exit_ns && n->exit_ns + g->p.window_ns < now_ns &&
		    n->seen_ns + g->p.window_ns < now_ns)
			pnode_free(g, n);
	}
}

/*
 * Chains.
 */

struct walk {
	/* sender first, as they are found */
	struct alert_step back[ALERT_CHAIN_MAX];
	size_t nr_back;
	/* from a derived file's snapshot, reader first */
	struct alert_step *prefix;
	size_t nr_prefix;
	/* where it began: a reader still in memory, or the snapshot's */
	struct pnode *root;
	/* the processes passed, against loops */
	struct exfilmon_pkey seen[ALERT_CHAIN_MAX];
	size_t nr_seen;
};

static struct alert_step *push(struct walk *w)
{
	struct alert_step *st = &w->back[w->nr_back++];

	memset(st, 0, sizeof(*st));
	return st;
}

static void push_unknown(struct walk *w, uint32_t pid)
{
	push(w)->pid = pid;
}

static const struct pread *main_read(const struct pnode *n)
{
	size_t i;

	for (i = 0; i < n->nr_reads; i++)
		if (!memcmp(&pread_at_c(n, i)->key, &n->p.src_obj,
			    sizeof(n->p.src_obj)))
			return pread_at_c(n, i);
	return NULL;
}

static void resolve(const struct flow_env *env,
		    const struct exfilmon_file_key *key, uint32_t watch_id,
		    char *buf, size_t len)
{
	buf[0] = '\0';
	if (env && env->resolve)
		env->resolve(env->ctx, key, watch_id, buf, len);
}

/* Whether n ran another image since it was tainted. */
static int execed(const struct pnode *n)
{
	/* interned: other names are another pointer */
	return n->name0 && n->name0 != n->name;
}

static size_t steps_of(const struct pnode *n)
{
	return execed(n) ? 2 : 1;
}

/* n's step (and its exec step) as the source it names says. */
static void push_proc(struct walk *w, const struct pnode *n)
{
	int exec = execed(n);
	struct alert_step *st;

	if (exec) {
		st = push(w);
		st->pid = n->key.tgid;
		st->via = VIA_EXEC;
		copy_str(st->comm, sizeof(st->comm), pname_comm(n->name));
		copy_str(st->exe, sizeof(st->exe), pname_exe(n->name));
	}
	st = push(w);
	st->pid = n->key.tgid;
	st->via = n->p.src_chan < EXFILMON_CHAN_NR ? n->p.src_chan :
						     VIA_UNKNOWN;
	st->bytes = n->p.src_bytes;
	copy_str(st->comm, sizeof(st->comm),
		 pname_comm(exec ? n->name0 : n->name));
	copy_str(st->exe, sizeof(st->exe),
		 pname_exe(exec ? n->name0 : n->name));
}

/* The snapshot of a derived file, parsed; 0 when there is none. */
static int parse_snapshot(const char *snap, struct alert_step **steps,
			  size_t *nr)
{
	struct json_object *arr;
	int ret;

	*steps = NULL;
	*nr = 0;
	if (!snap)
		return -ENOENT;
	arr = json_tokener_parse(snap);
	ret = alert_chain_from_json(arr, steps, nr);
	json_object_put(arr);
	return ret;
}

/*
 * Follow sources back from cur. 1 when the walk reached the reader of the
 * watched file, itself or through a derived file's snapshot.
 */
static int walk_from(struct flowgraph *g, struct exfilmon_pkey cur,
		     const struct flow_env *env, struct walk *w)
{
	size_t back_mark, seen_mark, i;
	struct alert_step *st;
	struct pnode *n;
	struct dnode *d;

	/* there is always room for one more step: an unknown one */
	for (;;) {
		n = pkey_zero(&cur) ? NULL : pnode_find(g, &cur);
		if (!n) {
			push_unknown(w, cur.tgid);
			return 0;
		}
		/* a loop: A's source is B, B's is A */
		for (i = 0; i < w->nr_seen; i++) {
			if (!memcmp(&w->seen[i], &cur, sizeof(cur))) {
				push_unknown(w, 0);
				return 0;
			}
		}
		/* its steps, and room for what comes before unless a root */
		if (w->nr_back + steps_of(n) +
		    (n->p.src_chan != EXFILMON_CHAN_READ) > ALERT_CHAIN_MAX) {
			push_unknown(w, 0);
			return 0;
		}
		w->seen[w->nr_seen++] = cur;
		push_proc(w, n);
		st = &w->back[w->nr_back - 1];
		switch (n->p.src_chan) {
		case EXFILMON_CHAN_READ: {
			const struct pread *r = main_read(n);

			resolve(env, &n->p.src_obj, r ? r->watch_id : 0,
				st->object, sizeof(st->object));
			st->bytes = r ? r->bytes :
				    n->p.src_bytes ?: n->p.bytes_read;
			w->root = n;
			return 1;
		}
		case EXFILMON_CHAN_FILE:
		case EXFILMON_CHAN_SHM:
			d = dnode_get(g, &n->p.src_obj, env, 0);
			if (d && d->path) {
				copy_str(st->object, sizeof(st->object),
					 d->path);
				if (is_shm_path(d->path))
					st->via = VIA_SHM;
			}
			cur = n->p.src;
			/*
			 * A writer still known has the current figures; the
			 * snapshot is for when it, or what came before it,
			 * is gone.
			 */
			if (!pkey_zero(&cur) && pnode_find(g, &cur)) {
				back_mark = w->nr_back;
				seen_mark = w->nr_seen;
				if (walk_from(g, cur, env, w))
					return 1;
				if (!d || !d->snap)
					return 0;
				w->nr_back = back_mark;
				w->nr_seen = seen_mark;
			}
			if (d && !parse_snapshot(d->snap, &w->prefix,
						 &w->nr_prefix) &&
			    w->nr_prefix)
				return 1;
			free(w->prefix);
			w->prefix = NULL;
			w->nr_prefix = 0;
			break;
		case EXFILMON_CHAN_FORK:
		case EXFILMON_CHAN_PIPE:
		case EXFILMON_CHAN_UNIX:
		case EXFILMON_CHAN_TCP:
		case EXFILMON_CHAN_UDP:
			cur = n->p.src;
			break;
		default:
			/* no source named: where it came from is unknown */
			memset(&cur, 0, sizeof(cur));
			break;
		}
	}
}

static void walk(struct flowgraph *g, const struct exfilmon_pkey *start,
		 const struct flow_env *env, struct walk *w)
{
	w->nr_back = 0;
	w->nr_seen = 0;
	w->prefix = NULL;
	w->nr_prefix = 0;
	w->root = NULL;
	walk_from(g, *start, env, w);
}

/* The walk's steps in order, at most ALERT_CHAIN_MAX; 0 or -ENOMEM. */
static int walk_steps(const struct walk *w, struct alert_step **steps,
		      size_t *nr)
{
	size_t keep = w->nr_prefix, n = 0, i;
	struct alert_step *out;

	*steps = NULL;
	*nr = 0;
	if (!w->nr_prefix && !w->nr_back)
		return 0;
	/* too long with the snapshot: its first steps give way to a "?" */
	if (w->nr_prefix + w->nr_back > ALERT_CHAIN_MAX)
		keep = w->nr_back < ALERT_CHAIN_MAX ?
		       ALERT_CHAIN_MAX - 1 - w->nr_back : 0;
	out = calloc(ALERT_CHAIN_MAX, sizeof(*out));
	if (!out)
		return -ENOMEM;
	if (keep < w->nr_prefix)
		n++;	/* the zeroed unknown step */
	for (i = w->nr_prefix - keep; i < w->nr_prefix; i++)
		out[n++] = w->prefix[i];
	for (i = w->nr_back; i > 0; i--)
		out[n++] = w->back[i - 1];
	*steps = out;
	*nr = n;
	return 0;
}

int flowgraph_chain(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct flow_env *env, struct alert_step **steps,
		    size_t *nr)
{
	struct walk *w = malloc(sizeof(*w));
	int ret;

	*steps = NULL;
	*nr = 0;
	if (!w)
		return -ENOMEM;
	walk(g, key, env, w);
	ret = walk_steps(w, steps, nr);
	free(w->prefix);
	free(w);
	return ret;
}

/* The chain up to writer as JSON; *complete: it begins with the read. */
static char *snapshot(struct flowgraph *g, const struct exfilmon_pkey *writer,
		      const struct flow_env *env, int *complete)
{
	struct alert_step *steps;
	struct json_object *arr;
	char *text = NULL;
	size_t nr;

	if (flowgraph_chain(g, writer, env, &steps, &nr))
		return NULL;
	*complete = nr && steps[0].via == VIA_READ;
	arr = alert_chain_to_json(steps, nr);
	if (arr)
		text = strdup(json_object_to_json_string_ext(arr,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	free(steps);
	return text;
}

/*
 * Explaining an alert: the chain of the largest sender, and what the
 * readers at the roots of all the senders' chains read.
 */

/* One reader's read of one file: counted once however many chains. */
struct root_read {
	uint32_t pid;
	char comm[EXFILMON_COMM_LEN];
	char path[ALERT_OBJECT_LEN];
	uint64_t bytes;
};

struct roots {
	struct root_read *r;
	size_t nr;
};

static int root_add(struct roots *rs, uint32_t pid, const char *comm,
		    const char *path, uint64_t bytes)
{
	struct root_read *r;
	size_t i;

	for (i = 0; i < rs->nr; i++) {
		r = &rs->r[i];
		if (r->pid == pid && !strcmp(r->comm, comm) &&
		    !strcmp(r->path, path)) {
			/* a snapshot is an older view of the same read */
			if (bytes > r->bytes)
				r->bytes = bytes;
			return 0;
		}
	}
	r = realloc(rs->r, (rs->nr + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	rs->r = r;
	r = &rs->r[rs->nr++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	copy_str(r->comm, sizeof(r->comm), comm);
	copy_str(r->path, sizeof(r->path), path);
	r->bytes = bytes;
	return 0;
}

static int roots_of(struct flowgraph *g, const struct walk *w,
		    const struct flow_env *env, struct roots *rs)
{
	const struct pnode *n = w->root;
	char path[ALERT_OBJECT_LEN];
	size_t i;
	int ret = 0;

	if (n) {
		for (i = 0; !ret && i < n->nr_reads; i++) {
			const struct pread *r = pread_at_c(n, i);

			resolve(env, &r->key, r->watch_id, path, sizeof(path));
			ret = root_add(rs, n->key.tgid,
				       pname_comm(n->name0 ?: n->name), path,
				       r->bytes);
		}
		if (!n->nr_reads) {
			resolve(env, &n->p.src_obj, n->p.watch_id, path,
				sizeof(path));
			ret = root_add(rs, n->key.tgid,
				       pname_comm(n->name0 ?: n->name), path,
				       n->p.bytes_read);
		}
		return ret;
	}
	if (w->nr_prefix && w->prefix[0].via == VIA_READ)
		return root_add(rs, w->prefix[0].pid, w->prefix[0].comm,
				w->prefix[0].object, w->prefix[0].bytes);
	return 0;
}

/* The roots' reads as the alert's files, one per path. */
static int roots_to_files(const struct roots *rs, struct alert *a)
{
	size_t i, j;

	free(a->files);
	a->files = NULL;
	a->nr_files = 0;
	a->bytes_read = 0;
	if (!rs->nr)
		return 0;
	a->files = calloc(rs->nr, sizeof(*a->files));
	if (!a->files)
		return -ENOMEM;
	for (i = 0; i < rs->nr; i++) {
		for (j = 0; j < a->nr_files; j++)
			if (!strcmp(a->files[j].path, rs->r[i].path))
				break;
		if (j == a->nr_files)
			copy_str(a->files[a->nr_files++].path,
				 sizeof(a->files[0].path), rs->r[i].path);
		a->files[j].bytes_read += rs->r[i].bytes;
		a->bytes_read += rs->r[i].bytes;
	}
	return 0;
}

int flowgraph_explain(struct flowgraph *g, const struct exfilmon_pkey *senders,
		      size_t nr, const struct flow_env *env, struct alert *a)
{
	struct roots rs = { 0 };
	struct walk *w;
	size_t i;
	int ret = 0;

	free(a->chain);
	a->chain = NULL;
	a->nr_chain = 0;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (i = 0; !ret && i < nr; i++) {
		walk(g, &senders[i], env, w);
		if (!i)
			ret = walk_steps(w, &a->chain, &a->nr_chain);
		if (!ret)
			ret = roots_of(g, w, env, &rs);
		/* the activity began with the first read of the data */
		if (w->root && w->root->p.first_ns &&
		    (!a->first_ns || w->root->p.first_ns < a->first_ns))
			a->first_ns = w->root->p.first_ns;
		free(w->prefix);
	}
	if (!ret)
		ret = roots_to_files(&rs, a);
	free(rs.r);
	free(w);
	return ret;
}
