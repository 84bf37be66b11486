/*
 * loopback.c: the unit tests' loopback HTTP server (loopback.h).
 */
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

static int srv_fd = -1;
static pthread_t srv_thread;
static void *(*srv_conn)(void *);

void loopback_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *srv_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(srv_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, srv_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
}

int loopback_start(void *(*conn)(void *))
{
    srv_conn = conn;
    srv_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srv_fd < 0 || bind(srv_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(srv_fd, 16) < 0)
        return -1;
    socklen_t al = sizeof a;
    getsockname(srv_fd, (struct sockaddr *)&a, &al);
    if (pthread_create(&srv_thread, NULL, srv_main, NULL) != 0)
        return -1;
    return ntohs(a.sin_port);
}

void loopback_stop(void)
{
    shutdown(srv_fd, SHUT_RDWR);
    close(srv_fd);
    pthread_join(srv_thread, NULL);
    srv_fd = -1;
}
