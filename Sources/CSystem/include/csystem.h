// Thin wrappers over Linux system calls that Swift's Glibc module does not expose (epoll,
// eventfd, accept4) or imports awkwardly (the packed struct epoll_event on x86_64).
// _GNU_SOURCE is set only in csystem.c: defined in a header that Swift imports, it clashes
// with the Glibc module.
#ifndef CSYSTEM_H
#define CSYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/// Readiness flags, re-exported as plain constants for Swift.
extern const uint32_t cs_epoll_in;
extern const uint32_t cs_epoll_out;
extern const uint32_t cs_epoll_err;
extern const uint32_t cs_epoll_hup;
extern const uint32_t cs_epoll_rdhup;
extern const uint32_t cs_epoll_et;

/// Creates an epoll instance with EPOLL_CLOEXEC. Returns the descriptor or -1 with errno set.
int cs_epoll_create(void);

/// Adds (op 1), modifies (op 3) or deletes (op 2) `fd` in the interest list, with `token`
/// returned in the ready list. Returns 0 or -1 with errno set.
int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);

/// Waits up to `timeout_ms` (-1 waits forever) and fills `events_out` and `tokens_out` with at
/// most `max_events` entries. Returns the count, or -1 with errno set (EINTR included).
int cs_epoll_wait(int epfd, uint32_t *events_out, uint64_t *tokens_out, int max_events, int timeout_ms);

/// Accepts one connection as non-blocking and close-on-exec (accept4). Returns the descriptor
/// or -1 with errno set.
int cs_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/// Creates a non-blocking, close-on-exec eventfd. Returns the descriptor or -1.
int cs_eventfd(void);

/// Adds one to an eventfd counter. Returns 0 or -1 with errno set.
int cs_eventfd_signal(int fd);

/// Resets an eventfd counter. Returns 0 or -1 with errno set (EAGAIN when it was already zero).
int cs_eventfd_drain(int fd);

/// Sets O_NONBLOCK on `fd`. Returns 0 or -1 with errno set.
int cs_set_nonblocking(int fd);

/// Returns the calling thread's errno.
int cs_errno(void);

/// Returns the Linux thread id of the caller, for log lines.
int cs_gettid(void);

/// Installs a handler for each of `signals` that writes the signal number (one byte) to a
/// pipe, and unblocks them in the calling thread. Returns the pipe's read end (blocking,
/// close-on-exec), the same pipe on later calls, or -1 with errno set on failure.
int cs_signal_pipe_install(const int *signals, int count);

/// Unblocks `signals` in the calling thread. A process may start with them blocked (inherited
/// from its parent), and then no handler would ever run. Returns 0 or an error number.
int cs_signal_unblock(const int *signals, int count);

/// Caps the number of glibc malloc arenas at `count` (mallopt(3), M_ARENA_MAX). Returns 1 on
/// success and 0 on failure, as mallopt does.
int cs_limit_malloc_arenas(int count);

/// Fills `buffer` with `length` bytes from the kernel's CSPRNG (getrandom(2) with no flags,
/// which blocks only until the pool is first initialised at boot), retrying after EINTR and
/// short reads. Returns 0, or -1 with errno set.
int cs_getrandom(uint8_t *buffer, size_t length);

/// Returns the number of CPUs this thread may run on (sched_getaffinity(2), CPU_COUNT), or -1
/// when the call fails. It is lower than the online count under `taskset` or a cpuset.
int cs_available_cpus(void);

#endif
