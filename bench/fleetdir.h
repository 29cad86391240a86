/* fleetdir.h - fleet mode, rank 0's side: the fleet folder (fleet.h says
 * what is in it).  Every file is written to a temporary name and renamed,
 * so a job that ends at any moment leaves whole files only. */
#ifndef IPCLAB_FLEETDIR_H
#define IPCLAB_FLEETDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

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
};

struct fleet_dir {
	const char *dir;                /* --out=DIR */
	int n;                          /* hosts: one per rank */
	struct fleet_host *hosts;       /* n of them, by rank */
	unsigned total;                 /* repetitions each host runs */
	unsigned gathered;              /* repetitions gathered per host */
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

/* DIR/FOLDER/name from the parts, in order.  0 or -errno. */
int fleetdir_write(const struct fleet_dir *d, const struct fleet_host *h, const char *name,
		   const char *const *parts, int nparts);

/* DIR/FOLDER/bench.json from what was gathered of h: its opening, every
 * repetition so far, the reporter's ending.  0 or -errno. */
int fleetdir_write_partial(const struct fleet_dir *d, const struct fleet_host *h);

/* DIR/FOLDER/hist/name (made when missing) holding text: a repetition's
 * histogram as a plain run writes it (histout.h).  name must be a plain
 * file name (-EINVAL otherwise).  0 or -errno. */
int fleetdir_write_hist(const struct fleet_dir *d, const struct fleet_host *h, const char *name, const char *text);

/* Add one gathered repetition (the JSON reporter's object) to h.  0 or
 * -ENOMEM. */
int fleetdir_append(struct fleet_host *h, const char *entry, size_t len);

void fleetdir_free(struct fleet_dir *d);

#endif
