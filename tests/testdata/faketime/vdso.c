/* The fake clock's second probe (tests/hull_faketime_vdso.rs), built for glibc and musl:
 *   vdso N    N clock_gettime(CLOCK_REALTIME) calls: prints whether the program has a vDSO
 *             (getauxval(AT_SYSINFO_EHDR) != 0), the voluntary context switches of this
 *             thread during the calls (a read answered by a ptrace supervisor stops the
 *             thread: one switch per read; a read in the vDSO: none), and the clock's seconds
 *   syscall N N clock_gettime(CLOCK_REALTIME) system calls (not the vDSO): prints calls per
 *             second (bench/clock.sh)
 *   forked F  forks a child that writes the clock's seconds to the file F every 100 ms, forever
 *             (a process that reads the clock without having exec'd); the parent exits
 *   timer N   a POSIX timer (timer_create(CLOCK_REALTIME)) armed at the (faked) now + N s
 *             with TIMER_ABSTIME, waited for: prints the deadline and the clock when it fired
 *   taisleep N clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME) until the (faked) TAI now + N s:
 *             prints the deadline and the TAI clock when it woke */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long switches(void) {
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "voluntary_ctxt_switches:", 24))
			n = atol(line + 24);
	fclose(f);
	return n;
}

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "forked")) {
		if (fork())
			return 0;
		close(0), close(1), close(2);
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
		for (;;) {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			FILE *f = fopen(tmp, "w");
			if (f) {
				fprintf(f, "%lld\n", (long long)now.tv_sec);
				fclose(f);
				rename(tmp, argv[2]);
			}
			usleep(100000);
		}
	}
	long n = atol(argv[2]);
	struct timespec t;
	if (!strcmp(argv[1], "vdso")) {
		long before = switches();
		for (long i = 0; i < n; i++)
			clock_gettime(CLOCK_REALTIME, &t);
		long after = switches();
		printf("%d %ld %lld\n", getauxval(AT_SYSINFO_EHDR) != 0, after - before,
		       (long long)t.tv_sec);
		return 0;
	}
	if (!strcmp(argv[1], "syscall")) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++)
			syscall(SYS_clock_gettime, CLOCK_REALTIME, &t);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%.0f\n", n / (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9));
		return 0;
	}
	if (!strcmp(argv[1], "timer")) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGALRM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
		timer_t id;
		struct itimerspec its = {0};
		clock_gettime(CLOCK_REALTIME, &its.it_value);
		its.it_value.tv_sec += n;
		if (timer_create(CLOCK_REALTIME, &ev, &id) || timer_settime(id, TIMER_ABSTIME, &its, NULL)) {
			perror("timer");
			return 1;
		}
		int sig;
		sigwait(&set, &sig);
		clock_gettime(CLOCK_REALTIME, &t);
		printf("%lld.%09ld %lld.%09ld\n", (long long)its.it_value.tv_sec, its.it_value.tv_nsec,
		       (long long)t.tv_sec, t.tv_nsec);
		return 0;
	}
	if (!strcmp(argv[1], "taisleep")) {
		struct timespec d;
		clock_gettime(CLOCK_TAI, &d);
		d.tv_sec += n;
		int e = clock_nanosleep(CLOCK_TAI, TIMER_ABSTIME, &d, NULL);
		if (e) {
			fprintf(stderr, "clock_nanosleep: %s\n", strerror(e));
			return 1;
		}
		clock_gettime(CLOCK_TAI, &t);
		printf("%lld.%09ld %lld.%09ld\n", (long long)d.tv_sec, d.tv_nsec, (long long)t.tv_sec,
		       t.tv_nsec);
		return 0;
	}
	return 2;
}
