/* The fake clock's probe, built for glibc (gcc) and musl (musl-gcc -static) by
 * tests/hull_faketime.rs and bench/clock.sh:
 *   probe now            time(), gettimeofday() and clock_gettime(REALTIME, REALTIME_COARSE)
 *                        seconds on one line
 *   probe timerfd N      arms a realtime timerfd at the (faked) now + N s, absolute, waits
 *                        for it, prints the deadline and the clock read when it fired
 *   probe sleep N        the same with clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME)
 *   probe bench N        N clock_gettime(CLOCK_REALTIME) calls: prints calls per second
 *   probe bench-mono N   the same with CLOCK_MONOTONIC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>

static double mono(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "now")) {
		struct timeval tv;
		struct timespec rt, co;
		time_t t = time(NULL);
		gettimeofday(&tv, NULL);
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_REALTIME_COARSE, &co);
		printf("%lld %lld %lld %lld\n", (long long)t, (long long)tv.tv_sec,
		       (long long)rt.tv_sec, (long long)co.tv_sec);
		return 0;
	}
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "timerfd") || !strcmp(argv[1], "sleep")) {
		struct timespec now, deadline, fired;
		clock_gettime(CLOCK_REALTIME, &now);
		deadline.tv_sec = now.tv_sec + n;
		deadline.tv_nsec = now.tv_nsec;
		if (!strcmp(argv[1], "timerfd")) {
			int fd = timerfd_create(CLOCK_REALTIME, 0);
			struct itimerspec its = {.it_value = deadline};
			uint64_t x;
			if (fd < 0 || timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ||
			    read(fd, &x, sizeof x) != sizeof x) {
				perror("timerfd");
				return 1;
			}
		} else {
			int e = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &deadline, NULL);
			if (e) {
				fprintf(stderr, "clock_nanosleep: %s\n", strerror(e));
				return 1;
			}
		}
		clock_gettime(CLOCK_REALTIME, &fired);
		printf("%lld.%09ld %lld.%09ld\n", (long long)deadline.tv_sec, deadline.tv_nsec,
		       (long long)fired.tv_sec, fired.tv_nsec);
		return 0;
	}
	if (!strcmp(argv[1], "bench") || !strcmp(argv[1], "bench-mono")) {
		clockid_t clk = strcmp(argv[1], "bench") ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		struct timespec t;
		double start = mono();
		for (long i = 0; i < n; i++)
			clock_gettime(clk, &t);
		printf("%.0f\n", n / (mono() - start));
		return 0;
	}
	return 2;
}
