/*
 * The clock guard: preloaded ahead of libfaketime when the harness gives a service a skewed clock
 * (scripts/ringtrace_harness/hosts.py). libfaketime 0.9.10 shifts three calls that must stay on
 * the machine's own time in our services, so the guard answers them first, unfaked:
 *
 *  - timerfd_settime: with TFD_TIMER_ABSTIME, libfaketime takes the value for a REALTIME deadline
 *    whatever the timer's clock and subtracts the offset. Asio's reactor arms its CLOCK_MONOTONIC
 *    timerfd with {0, 1 ns} absolute when a timer is already due; under a positive offset that
 *    becomes negative, the kernel answers EINVAL, Asio ignores it, and due timers wait for a
 *    later arming (or forever).
 *  - timespec_get and gettimeofday: librdkafka builds its C11 cnd_timedwait deadlines from them,
 *    and glibc's cnd_timedwait waits on the real clock, so a faked deadline made every timed wait
 *    longer by a positive offset, or spin by a negative one.
 *
 * What stays faked is clock_gettime(CLOCK_REALTIME...) and time(): what std::system_clock, and so
 * every stamp, span and log line of the service, reads. tests/hosts/clock_guard_probe proves
 * both halves. Plain C, no coverage or sanitizer flags (tools/clock_guard/CMakeLists.txt): it is
 * loaded into processes that were built without them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* glibc's own clock_gettime (vDSO-backed), not the next one in the preload chain, which is
 * libfaketime's. Resolved once, lazily; the raw system call when libc cannot be opened. */
typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);

static clock_gettime_fn real_clock_gettime(void) {
  static clock_gettime_fn fn = NULL;
  clock_gettime_fn got = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
  if (got != NULL) return got;
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  if (libc != NULL) {
    void* sym = dlsym(libc, "clock_gettime");
    memcpy(&got, &sym, sizeof got); /* POSIX's way from an object pointer to a function pointer */
    dlclose(libc);
  }
  if (got != NULL) __atomic_store_n(&fn, got, __ATOMIC_RELEASE);
  return got;
}

static int real_realtime(struct timespec* ts) {
  clock_gettime_fn fn = real_clock_gettime();
  if (fn != NULL) return fn(CLOCK_REALTIME, ts);
  return (int)syscall(SYS_clock_gettime, CLOCK_REALTIME, ts);
}

int timerfd_settime(int fd, int flags, const struct itimerspec* new_value, struct itimerspec* old_value) {
  return (int)syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}

int timespec_get(struct timespec* ts, int base) {
  if (base != TIME_UTC || real_realtime(ts) != 0) return 0;
  return base;
}

/* The timezone argument is obsolete (always zeroes in glibc); only the time is given. */
int gettimeofday(struct timeval* restrict tv, void* restrict tz) {
  (void)tz;
  struct timespec ts;
  if (real_realtime(&ts) != 0) return -1;
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}
