/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flow graph: where each tainted process got its taint, so an alert can
 * name the chain from the reader of the watched file to the sender
 * (docs/flow.md, "The chain"). Nodes are tainted processes, fed by the
 * counters every record carries, and derived files, each with a snapshot
 * of the chain up to its writer: a staged copy read an hour later, after
 * the writer is long gone or the daemon restarted, still names the whole
 * chain. Snapshots are kept in the store; memory is bounded and an
 * eviction is counted.
 */
#ifndef EXFILMON_FLOWGRAPH_H
#define EXFILMON_FLOWGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "exfilmon_abi.h"
#include "alert.h"

struct store;

/*
 * What the graph needs from the daemon, passed to the calls that use it:
 * the store (derived marks and their snapshots; NULL: memory only) and the
 * path of a configured watch's file (NULL: paths stay empty).
 */
struct flow_env {
	struct store *store;
	void (*resolve)(void *ctx, const struct exfilmon_file_key *key,
			uint32_t watch_id, char *buf, size_t len);
	void *ctx;
};

struct flowgraph_params {
	uint64_t window_ns;	/* how long an exited process is kept */
	uint32_t max_procs;	/* process nodes; 0: FLOW_MAX_PROCS */
	uint32_t max_files;	/* derived files in memory; 0: FLOW_MAX_FILES */
};

#define FLOW_MAX_PROCS	32768
#define FLOW_MAX_FILES	4096

struct flowgraph_stats {
	size_t procs;		/* process nodes */
	size_t files;		/* derived files in memory */
	uint64_t procs_evicted;	/* process nodes dropped for room */
	/* derived files dropped from memory for room (in the store if saved) */
	uint64_t files_evicted;
	uint64_t save_failed;	/* derived marks the store refused */
};

struct flowgraph;

struct flowgraph *flowgraph_new(const struct flowgraph_params *p);
void flowgraph_free(struct flowgraph *g);	/* accepts NULL */

/*
 * A record showed process key's counters p at ts. comm and exe are its
 * names now (NULL: not known); the first ones seen are kept as the names
 * it had when tainted.
 */
void flowgraph_proc(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct exfilmon_proc *p, const char *comm,
		    const char *exe, uint64_t ts);
/* The process has read total bytes of watched file (of watch_id) so far. */
void flowgraph_read(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct exfilmon_file_key *file, uint32_t watch_id,
		    uint64_t total);
/* The process ran a new image (exec): its new names. */
void flowgraph_exec(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const char *comm, const char *exe);
/* The process is gone; its node stays for the window. */
void flowgraph_exit(struct flowgraph *g, const struct exfilmon_pkey *key,
		    uint64_t ts);

/*
 * The process carried delta more bytes of taint into object obj through
 * channel chan (FILE or SHM make it a derived file; NONE, from a table
 * walk, updates only a derived file already known).
 */
void flowgraph_flow(struct flowgraph *g, const struct exfilmon_pkey *writer,
		    const struct exfilmon_file_key *obj, uint32_t chan,
		    uint32_t watch_id, uint64_t delta, uint64_t ts,
		    const struct flow_env *env);
/*
 * A file was marked derived (REC_DERIVED): path is its name ("" unknown).
 * The mark and the chain up to the writer are stored at once.
 */
void flowgraph_derived(struct flowgraph *g, const struct exfilmon_pkey *writer,
		       const struct exfilmon_file_key *key,
		       const struct exfilmon_obj *obj, const char *path,
		       uint64_t ts, const struct flow_env *env);

/* Store derived marks whose taint grew, and forget what the window left. */
void flowgraph_tick(struct flowgraph *g, uint64_t now_ns,
		    const struct flow_env *env);

/*
 * The chain of process key, reader first, sender last (at most
 * ALERT_CHAIN_MAX steps; *steps malloc'd). 0 or -ENOMEM.
 */
int flowgraph_chain(struct flowgraph *g, const struct exfilmon_pkey *key,
		    const struct flow_env *env, struct alert_step **steps,
		    size_t *nr);

/*
 * Fill a->chain (senders[0]'s), a->files and a->bytes_read (what the
 * readers at the roots of all nr senders' chains read, each reader
 * counted once). 0 or -ENOMEM.
 */
int flowgraph_explain(struct flowgraph *g, const struct exfilmon_pkey *senders,
		      size_t nr, const struct flow_env *env, struct alert *a);

void flowgraph_stats(const struct flowgraph *g, struct flowgraph_stats *st);

/*
 * A derived file's name from REC_DERIVED's leaf-first components:
 * "notes.txt\0tmp\0" -> "/tmp/notes.txt", "…/" in front when the sensor
 * cut the path. Empty components are skipped.
 */
void flow_derived_path(const char *comps, size_t len, uint32_t flags,
		       char *buf, size_t size);

#endif
