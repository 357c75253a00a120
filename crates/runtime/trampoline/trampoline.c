/*
 * hull's exec trampoline: execve(argv[0], argv + 1, envp) and nothing else.
 *
 * The container's init execs the program through this tiny static binary, loaded from a
 * sealed memfd, so that while and after the program starts, /proc/self/exe names the sealed
 * trampoline and never the runtime's binary on the host: an image whose entrypoint, script
 * interpreter or ELF interpreter is /proc/self/exe gets this read-only copy, not hullrt
 * (CVE-2019-5736). It has no libc, no data and no stack use: the kernel's initial stack
 * holds argc, argv and envp, which are passed straight on.
 *
 * With fewer than two arguments (a path and the program's argv[0]) it exits 127 at once: an
 * image that points a script interpreter back at /proc/self/exe reaches the trampoline again
 * with one argument fewer each time, and this ends the chain.
 *
 * Built by build.rs with -nostdlib -static; exits with the errno if execve fails.
 */
#if defined(__x86_64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  mov (%rsp), %rcx\n"           /* argc */
    "  mov $127, %edi\n"
    "  cmp $2, %rcx\n"
    "  jb 1f\n"
    "  mov 8(%rsp), %rdi\n"          /* path = argv[0] */
    "  lea 16(%rsp), %rsi\n"         /* argv + 1 */
    "  lea 16(%rsp,%rcx,8), %rdx\n"  /* envp = &argv[argc + 1] */
    "  mov $59, %eax\n"              /* SYS_execve */
    "  syscall\n"
    "  mov %eax, %edi\n"
    "  neg %edi\n"
    "1:\n"
    "  mov $60, %eax\n"              /* SYS_exit */
    "  syscall\n");
#elif defined(__aarch64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  ldr x3, [sp]\n"               /* argc */
    "  mov x0, #127\n"
    "  cmp x3, #2\n"
    "  b.lo 1f\n"
    "  ldr x0, [sp, #8]\n"           /* path = argv[0] */
    "  add x1, sp, #16\n"            /* argv + 1 */
    "  add x2, sp, x3, lsl #3\n"
    "  add x2, x2, #16\n"            /* envp = &argv[argc + 1] */
    "  mov x8, #221\n"               /* SYS_execve */
    "  svc #0\n"
    "  neg x0, x0\n"
    "1:\n"
    "  mov x8, #93\n"                /* SYS_exit */
    "  svc #0\n");
#else
#error "hull's exec trampoline supports x86_64 and aarch64"
#endif
