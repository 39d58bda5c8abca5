/*
 * daemon/reload.h — hot reload: what triggers it (SIGHUP, a change to the
 * config file or a model file), the thread that builds the next model
 * table, and what the control loop does with the result.
 *
 * The control loop owns a struct dnnqd_reload and drives it: it polls the
 * inotify fd and the done eventfd beside its sockets, calls
 * dnnqd_reload_tick on every tick (which starts a reload once the files
 * have been quiet for DNNQD_RELOAD_QUIET_MS, or at once after a SIGHUP),
 * and dnnqd_reload_done when the thread has finished. The thread only
 * reads the served table and builds a new one; publishing it, the status
 * line and the systemd notifications are the control loop's.
 */
#ifndef DNNQ_DAEMON_RELOAD_H
#define DNNQ_DAEMON_RELOAD_H

#include "daemon/dnnqd.h"
#include "daemon/options.h"

#define DNNQD_RELOAD_QUIET_MS 200

/* Watches the directories of the config file (o->config) and of every
 * model file of c, the settings dnnqd started with: a reload that reads
 * another value of one read at start only (listen, workers, limits but
 * max_batch, access, metrics, log) says so, naming the keys. o and c must
 * outlive it. */
int dnnqd_reload_create(struct dnnqd_reload **out, const struct dnnqd_options *o,
                        const struct dnnq_config *c, struct dnnq_diag *diag);
/* Cancels and joins a reload in progress; NULL is fine. */
void dnnqd_reload_destroy(struct dnnqd_reload *r);

int dnnqd_reload_inotify_fd(const struct dnnqd_reload *r);
int dnnqd_reload_done_fd(const struct dnnqd_reload *r);

/* SIGHUP: reload as soon as none is running. */
void dnnqd_reload_request(struct dnnqd_reload *r);
/* A RELOAD request: reload as soon as none is running. Returns how many
 * reloads must finish (d->reloads grow by) before one has read the files
 * as they are now: 1, or 2 while one is running. */
unsigned dnnqd_reload_ask(struct dnnqd_reload *r);
/* The outcome of the last finished reload, as a RELOAD reply (but the
 * header's magic, version, type and seq; hdr.status is its DNNQ_E_*). */
const struct dnnq_msg_reload *dnnqd_reload_result(const struct dnnqd_reload *r);
/* The inotify fd is readable: a change to a watched file restarts the
 * quiet period. */
void dnnqd_reload_on_inotify(struct dnnqd_reload *r, uint64_t now_ns);
/* Starts the reload that is due, if none is running. */
void dnnqd_reload_tick(struct dnnqd *d, struct dnnqd_reload *r, uint64_t now_ns);
/* The done fd is readable: joins the thread, publishes its table or keeps
 * its error in d->reload_error, logs, notifies, watches the new files. */
void dnnqd_reload_done(struct dnnqd *d, struct dnnqd_reload *r);

#endif
