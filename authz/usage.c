/*
 * usage.c: last_used_at of clients and client secrets (usage.h). A small
 * table keyed by client id (seeded SipHash: the ids come from requests, but
 * only authenticated ones get here), one entry per client and secret used
 * (during a rotation a client uses two) holding the latest use; usage_flush swaps the table out under
 * the lock and writes it with one statement per kind.
 */
#include "usage.h"
#include "storage/lifecycle.h"
#include "util/hash.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE_BUCKETS 4096

struct use {
    struct use *next;
    char *client_id;
    char secret_id[40];
    int64_t at;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct use *buckets[USAGE_BUCKETS];
static int pending;

void usage_note(const char *client_id, const char *secret_id)
{
    int64_t now = (int64_t)time(NULL);
    const char *sid = secret_id ? secret_id : "";
    unsigned b = (unsigned)(hash_more(hash_str(client_id), sid) % USAGE_BUCKETS);
    pthread_mutex_lock(&lock);
    struct use *u = buckets[b];
    while (u && (strcmp(u->client_id, client_id) != 0 || strcmp(u->secret_id, sid) != 0))
        u = u->next;
    if (!u && pending < AUTHZ_USAGE_PENDING_MAX) {
        u = calloc(1, sizeof *u);
        u->client_id = strdup(client_id);
        strncpy(u->secret_id, sid, sizeof u->secret_id - 1);
        u->next = buckets[b];
        buckets[b] = u;
        pending++;
    }
    if (u)
        u->at = now;
    pthread_mutex_unlock(&lock);
}

int usage_pending(void)
{
    pthread_mutex_lock(&lock);
    int n = pending;
    pthread_mutex_unlock(&lock);
    return n;
}

int usage_flush(PGconn *c)
{
    struct use *all = NULL;
    pthread_mutex_lock(&lock);
    for (int b = 0; b < USAGE_BUCKETS; b++) {
        while (buckets[b]) {
            struct use *u = buckets[b];
            buckets[b] = u->next;
            u->next = all;
            all = u;
        }
    }
    pending = 0;
    pthread_mutex_unlock(&lock);
    if (!all)
        return 0;
    int n = 0;
    for (struct use *u = all; u; u = u->next)
        n++;
    struct usage_row *rows = calloc((size_t)n, sizeof *rows);
    int i = 0;
    for (struct use *u = all; u; u = u->next, i++) {
        rows[i].client_id = u->client_id;
        rows[i].secret_id = u->secret_id[0] ? u->secret_id : NULL;
        rows[i].at = u->at;
    }
    int rc = store_usage_write(c, rows, n);
    free(rows);
    while (all) {
        struct use *u = all;
        all = u->next;
        if (rc < 0)
            usage_note(u->client_id, u->secret_id[0] ? u->secret_id : NULL);
        free(u->client_id);
        free(u);
    }
    return rc;
}
