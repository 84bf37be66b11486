/*
 * queue.c: the job queue every runtime thread takes its work from, and the
 * signal mask of those threads.
 */
#include "runtime/runtime.h"

#include <signal.h>

void job_queue_push(struct job_queue *q, struct job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->len++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

struct job *job_queue_take(struct job_queue *q, int (*weight)(const struct job *), int max)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->stop)
        pthread_cond_wait(&q->cv, &q->mu);
    struct job *first = q->head, *last = first;
    if (first) {
        int w = weight ? weight(first) : 1, n = 1;
        while (last->next && w + (weight ? weight(last->next) : 1) <= max) {
            last = last->next;
            w += weight ? weight(last) : 1;
            n++;
        }
        q->head = last->next;
        if (!q->head)
            q->tail = NULL;
        last->next = NULL;
        q->len -= n;
    }
    pthread_mutex_unlock(&q->mu);
    return first;
}

void job_queue_stop(struct job_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void runtime_block_signals(void)
{
    sigset_t set;
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}
