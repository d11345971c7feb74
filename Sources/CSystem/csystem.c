#define _GNU_SOURCE
#include "csystem.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

const uint32_t cs_epoll_in = EPOLLIN;
const uint32_t cs_epoll_out = EPOLLOUT;
const uint32_t cs_epoll_err = EPOLLERR;
const uint32_t cs_epoll_hup = EPOLLHUP;
const uint32_t cs_epoll_rdhup = EPOLLRDHUP;
const uint32_t cs_epoll_et = EPOLLET;

int cs_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &event);
}

int cs_epoll_wait(int epfd, uint32_t *events_out, uint64_t *tokens_out, int max_events, int timeout_ms) {
    struct epoll_event ready[256];
    if (max_events > 256) max_events = 256;
    int count = epoll_wait(epfd, ready, max_events, timeout_ms);
    for (int i = 0; i < count; i++) {
        events_out[i] = ready[i].events;
        tokens_out[i] = ready[i].data.u64;
    }
    return count;
}

int cs_accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
    return accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int cs_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cs_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

int cs_eventfd_drain(int fd) {
    uint64_t value;
    return read(fd, &value, sizeof value) == sizeof value ? 0 : -1;
}

int cs_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int cs_errno(void) { return errno; }

int cs_gettid(void) { return (int)syscall(SYS_gettid); }

static int cs_signal_pipe[2] = {-1, -1};

/* Writes the signal number to the pipe. write(2) is async-signal-safe, errno is restored, and
   a full pipe drops the byte (a shutdown is already pending then). */
static void cs_signal_handler(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    ssize_t ignored = write(cs_signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int cs_signal_pipe_install(const int *signals, int count) {
    if (cs_signal_pipe[0] < 0) {
        if (pipe2(cs_signal_pipe, O_CLOEXEC) != 0) return -1;
        int flags = fcntl(cs_signal_pipe[1], F_GETFL, 0);
        fcntl(cs_signal_pipe[1], F_SETFL, flags | O_NONBLOCK);
    }
    for (int i = 0; i < count; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = cs_signal_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return cs_signal_unblock(signals, count) == 0 ? cs_signal_pipe[0] : -1;
}

int cs_signal_unblock(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int cs_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}

int cs_getrandom(uint8_t *buffer, size_t length) {
    size_t filled = 0;
    while (filled < length) {
        ssize_t count = getrandom(buffer + filled, length - filled, 0);
        if (count < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        filled += (size_t)count;
    }
    return 0;
}

int cs_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return -1;
    }
    return CPU_COUNT(&set);
}
