/*
 * fetchers.c: the fetch threads. A request that needs something from the
 * network first (a client ID metadata document, a JWK Set at a jwks_uri)
 * is a job handed here by its event loop; one of AUTHZ_FETCH_THREADS
 * threads runs the job's fetch operation, which fetches through the one
 * outbound client (net/fetch.c, bounded in time and size) and hands the job
 * on. These threads hold no database connection: a slow or hostile server
 * delays only the requests that named it, never an event loop, and never
 * takes a database worker from everyone else.
 */
#include "runtime/runtime.h"
#include "util/limits.h"

#include <stdbool.h>

static struct job_queue fetch_q = JOB_QUEUE_INIT;
static pthread_t threads[AUTHZ_FETCH_THREADS];
static int nthreads;

void fetch_submit(struct job *j)
{
    job_queue_push(&fetch_q, j);
}

static void *fetcher_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
    for (;;) {
        struct job *j = job_queue_take(&fetch_q, NULL, 1);
        if (!j)
            break;
        j->ops->fetch(j);
    }
    return NULL;
}

int fetchers_start(void);
int fetchers_start(void)
{
    for (int i = 0; i < AUTHZ_FETCH_THREADS; i++) {
        if (pthread_create(&threads[i], NULL, fetcher_main, NULL) != 0)
            return -1;
        nthreads++;
    }
    return 0;
}

/* Before the workers stop: the fetch threads hand jobs to them. */
void fetchers_shutdown(void);
void fetchers_shutdown(void)
{
    job_queue_stop(&fetch_q);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    nthreads = 0;
}
