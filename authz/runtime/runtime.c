/*
 * runtime.c: starting and stopping the runtime's threads in order. At stop,
 * the fetch threads drain first (they hand jobs to the workers), then the
 * workers (they hand rotations on), then the rotation thread, then the committer (rotations and workers hand jobs back, never
 * to it), then the listener and the outbox.
 */
#include "runtime/runtime.h"
#include "notify/outbox.h"
#include "config.h"

int pool_start(const struct config *cfg);
void pool_shutdown(void);
int committer_start(void);
void committer_shutdown(void);
int rotation_start(void);
void rotation_shutdown(void);
int listener_start(void);
void listener_shutdown(void);
int fetchers_start(void);
void fetchers_shutdown(void);

static const struct config *g_cfg;

const struct config *runtime_config(void)
{
    return g_cfg;
}

int runtime_start(const struct config *cfg)
{
    g_cfg = cfg;
    if (pool_start(cfg) < 0 || committer_start() < 0 || listener_start() < 0 ||
        rotation_start() < 0 || fetchers_start() < 0)
        return -1;
    outbox_start(cfg);
    return 0;
}

void runtime_shutdown(void)
{
    fetchers_shutdown(); /* before the workers: they hand jobs to them */
    pool_shutdown();
    rotation_shutdown(); /* after the workers: they hand rotations to it */
    committer_shutdown();
    listener_shutdown();
    outbox_shutdown();
}
