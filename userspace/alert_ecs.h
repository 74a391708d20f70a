/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON log's form of an alert: an Elastic Common Schema (ECS) document
 * with exfilmon's own figures under "exfilmon". The mapping, the versioning
 * rules and the forwarding setups are in docs/siem.md; the JSON Schema is
 * docs/schema/exfilmon-alert-v1.schema.json. The internal object of
 * alert_to_json() (IPC, exfilctl --json) is unchanged by this.
 */
#ifndef EXFILMON_ALERT_ECS_H
#define EXFILMON_ALERT_ECS_H

#include "alert.h"

/*
 * exfilmon.schema_version: bumped whenever a line valid under the new
 * schema could be refused by the previous one, or a field changes meaning.
 */
#define ALERT_ECS_SCHEMA_VERSION	1
/* The ECS release whose field definitions the lines follow (ecs.version). */
#define ALERT_ECS_VERSION		"8.11.0"

/*
 * The ECS document of one alert event. event: "new" (first sighting) or
 * "update"; hostname: host.hostname, left out when NULL or empty. Returns 0
 * and a new reference in *out, or -EINVAL (bad event) / -ENOMEM.
 */
int alert_ecs_json(const struct alert *a, const char *event,
		   const char *hostname, struct json_object **out);

/*
 * The destination port that got the most of the data (the first one of
 * those that tie), and the watched file read the most: the one each ECS
 * field (destination.port, file.path) and the journal's EXFILMON_DEST and
 * EXFILMON_FILE name. NULL when the alert lists none.
 */
const struct alert_dest *alert_top_dest(const struct alert *a);
const struct alert_file *alert_top_file(const struct alert *a);

#endif /* EXFILMON_ALERT_ECS_H */
