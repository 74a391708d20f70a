/* SPDX-License-Identifier: GPL-2.0-only */
/* The eBPF sensor's pins in bpffs: see sensor_pin.c. */
#ifndef EXFILMON_SENSOR_PIN_H
#define EXFILMON_SENSOR_PIN_H

#include <stddef.h>

struct bpf_object_skeleton;

/*
 * Before load: point the skeleton at the maps and links pinned in dir, so
 * that loading creates nothing and attaching is not needed. 1 when taken
 * over; 0 when there is nothing to take over, with why set if a pinned
 * state was found but does not fit (another build, other table sizes, a
 * part missing); -errno when the skeleton is no longer usable.
 */
int pin_adopt(struct bpf_object_skeleton *sk, const char *dir, char *why,
	      size_t whylen);
/* After attach: pin every map and link in dir, replacing what was there. */
int pin_all(struct bpf_object_skeleton *sk, const char *dir);
/*
 * Is every pin in dir still there and the skeleton's own object? Returns
 * how many are not, each said in why (appended, "; " between).
 */
int pin_verify(struct bpf_object_skeleton *sk, const char *dir, char *why,
	       size_t whylen);
/* Unpin everything in dir and remove it: the programs detach once no fd
 * is left. 0 if dir does not exist. */
int pin_dir_remove(const char *dir);

#endif
