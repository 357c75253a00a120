/* The differential probe: prints what the process sees from inside its container, one fact a
 * line ("key: value"), then "END" and waits for SIGKILL so the harness can read its cgroup and
 * namespaces from outside (with --once first, as an exec'd process, it exits instead).
 * Arguments are the sysctl keys the config sets (net.ipv4.ip_forward).
 * Built static by tests/parity/runc_diff/ (gcc -static) into the test rootfs. The harness
 * normalises ids, inodes and peer groups; this file prints them raw. */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static void file_lines(const char *key, const char *path, const char **only) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("%s: <%m>\n", key);
    return;
  }
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (only) {
      int keep = 0;
      for (const char **o = only; *o; o++)
        if (strncmp(line, *o, strlen(*o)) == 0 && line[strlen(*o)] == ':') keep = 1;
      if (!keep) continue;
    }
    printf("%s: %s\n", key, line);
  }
  fclose(f);
}

static char type_of(mode_t m) {
  return S_ISDIR(m) ? 'd' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : S_ISLNK(m) ? 'l'
       : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* `dev: PATH TYPE MODE UID:GID MAJ:MIN [-> TARGET]`, two levels deep. */
static void list_dev(const char *dir, int depth) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name);
  if (n < 0) {
    printf("dev: %s <%m>\n", dir);
    return;
  }
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (strcmp(name, ".") && strcmp(name, "..")) {
      char p[4096];
      struct stat st;
      snprintf(p, sizeof p, "%s/%s", dir, name);
      if (lstat(p, &st) == 0) {
        printf("dev: %s %c %04o %u:%u", p, type_of(st.st_mode), st.st_mode & 07777, st.st_uid,
               st.st_gid);
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
          printf(" %u:%u", major(st.st_rdev), minor(st.st_rdev));
        if (S_ISLNK(st.st_mode)) {
          char t[4096];
          ssize_t l = readlink(p, t, sizeof t - 1);
          t[l < 0 ? 0 : l] = 0;
          printf(" -> %s", t);
        }
        printf("\n");
        if (S_ISDIR(st.st_mode) && depth < 1) list_dev(p, depth + 1);
      }
    }
    free(names[i]);
  }
  free(names);
}

static void fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    printf("fd: <%m>\n");
    return;
  }
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    char p[64], t[4096];
    snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
    ssize_t l = readlink(p, t, sizeof t - 1);
    t[l < 0 ? 0 : l] = 0;
    char *br = strchr(t, '[');
    if (br && (strncmp(t, "pipe:", 5) == 0 || strncmp(t, "socket:", 7) == 0)) *br = 0;
    printf("fd: %s %s\n", e->d_name, t);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  int once = argc > 1 && strcmp(argv[1], "--once") == 0;
  if (once) {
    argc--;
    argv++;
  }
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("uid: %u %u %u\ngid: %u %u %u\n", r, e, s, gr, ge, gs);
  gid_t groups[256];
  int ng = getgroups(256, groups);
  printf("groups:");
  for (int i = 0; i < ng; i++) printf(" %u", groups[i]);
  printf("\n");
  printf("pid: %s\n", getpid() == 1 ? "1" : "not 1");
  static const char *status[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                                 "Seccomp", "Seccomp_filters", "Umask", NULL};
  file_lines("status", "/proc/self/status", status);
  mode_t um = umask(0);
  umask(um);
  printf("umask: %04o\n", um);
  char cwd[4096];
  printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "<none>");
  for (char **v = environ; *v; v++) printf("env: %s\n", *v);
  struct utsname u;
  uname(&u);
  printf("hostname: %s\ndomainname: %s\n", u.nodename, u.domainname);
  file_lines("limits", "/proc/self/limits", NULL);
  file_lines("oom_score_adj", "/proc/self/oom_score_adj", NULL);
  file_lines("cgroup", "/proc/self/cgroup", NULL);
  for (int i = 1; i < argc; i++) {
    char p[512];
    snprintf(p, sizeof p, "/proc/sys/%s", argv[i]);
    for (char *c = p + 10; *c; c++)
      if (*c == '.') *c = '/';
    char key[600];
    snprintf(key, sizeof key, "sysctl %s", argv[i]);
    file_lines(key, p, NULL);
  }
  file_lines("mountinfo", "/proc/self/mountinfo", NULL);
  list_dev("/dev", 0);
  fds();
  printf("END\n");
  fflush(stdout);
  if (once) return 0;
  for (;;) pause();
}
