/* fleetdir.h - fleet mode, rank 0's side: the fleet folder (fleet.h says
 * what is in it).  Every file is written to a temporary name and renamed,
 * so a job that ends at any moment leaves whole files only; a host's
 * bench.json between two repetitions is the exception (fleetdir_add: its
 * ending is rewritten in place, in one write of the repetition's size). */
#ifndef IPCLAB_FLEETDIR_H
#define IPCLAB_FLEETDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A folder name: a host name (at most HOST_NAME_MAX) and "-rankN". */
#define FLEET_FOLDER_MAX (HOST_NAME_MAX + 24)

/* What rank 0 keeps of one host. */
struct fleet_host {
	char host[HOST_NAME_MAX + 1];   /* as uname -n says, made safe */
	char folder[FLEET_FOLDER_MAX];  /* under DIR */
	char *head;                     /* its JSON report's opening (context) */
	char *body;                     /* its repetitions so far, joined */
	size_t blen, bcap;
	unsigned entries;
	bool whole;                     /* its own whole report arrived */
	int json_fd;                    /* its bench.json, open for its tail; -1: none */
	size_t json_len;                /* that file's length */
};

struct fleet_dir {
	const char *dir;                /* --out=DIR */
	int n;                          /* hosts: one per rank */
	struct fleet_host *hosts;       /* n of them, by rank */
	unsigned total;                 /* repetitions each host runs */
	unsigned gathered;              /* repetitions gathered per host */
	uint64_t json_bytes;            /* bytes written into the hosts' bench.json */
};

/* Name every host's folder from names (rank i's host name at
 * names + offs[i]): HOST, or HOST-rankN where ranks share a host name;
 * refuse a DIR that holds results (-EINVAL); make the folders and write
 * fleet.json ("starting").  0 or -errno with one line in err
 * (SUITE_ERRLEN); -EINVAL for what the user must change. */
int fleetdir_prepare(struct fleet_dir *d, const char *names, const size_t *offs, char *err);

/* DIR/fleet.json with state ("running", "complete", or why the job ended
 * early).  0 or -errno. */
int fleetdir_manifest(const struct fleet_dir *d, const char *state);

/* DIR/FOLDER/name from the parts, in order (counted in d->json_bytes
 * when it is bench.json: then fleetdir_add no longer writes into it).  0
 * or -errno. */
int fleetdir_write(struct fleet_dir *d, struct fleet_host *h, const char *name,
		   const char *const *parts, int nparts);

/* DIR/FOLDER/bench.json from what was gathered of h: its opening, every
 * repetition so far, the reporter's ending, written whole (temporary name,
 * rename) and kept open for fleetdir_add.  0 or -errno. */
int fleetdir_write_partial(struct fleet_dir *d, struct fleet_host *h);

/* Add one gathered repetition (the JSON reporter's object, len bytes) to h
 * and to its bench.json, which stays a whole file in Google Benchmark's
 * format: only its ending is rewritten in place, with the repetition in
 * front of it (one pwrite of the repetition's size, not the file's; a
 * write that fails rewrites the file whole).  0 or -errno. */
int fleetdir_add(struct fleet_dir *d, struct fleet_host *h, const char *entry, size_t len);

/* DIR/FOLDER/hist/name (made when missing) holding text: a repetition's
 * histogram as a plain run writes it (histout.h).  name must be a plain
 * file name (-EINVAL otherwise).  0 or -errno. */
int fleetdir_write_hist(const struct fleet_dir *d, const struct fleet_host *h, const char *name, const char *text);

void fleetdir_free(struct fleet_dir *d);

#endif
