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
 * With fewer than two arguments (a path and the program's argv[0]) it says so on stderr and
 * exits 127 at once: an image that points a script interpreter back at /proc/self/exe
 * reaches the trampoline again with one argument fewer each time, and this ends the chain.
 *
 * Built by build.rs with -nostdlib -static; exits with the errno if execve fails.
 */
/* The one message, kept in .text beside the code (the binary has no other sections). */
#define MSG                                                                                \
    "msg: .ascii \"exec: /proc/self/exe is the program or its script interpreter: it cannot " \
    "run in a container\\n\"\n"                                                            \
    "msgend:\n"

#if defined(__x86_64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  mov (%rsp), %rcx\n"           /* argc */
    "  cmp $2, %rcx\n"
    "  jae 2f\n"
    "  mov $1, %eax\n"               /* SYS_write */
    "  mov $2, %edi\n"               /* stderr */
    "  lea msg(%rip), %rsi\n"
    "  mov $(msgend - msg), %edx\n"
    "  syscall\n"
    "  mov $127, %edi\n"
    "  jmp 1f\n"
    "2:\n"
    "  mov 8(%rsp), %rdi\n"          /* path = argv[0] */
    "  lea 16(%rsp), %rsi\n"         /* argv + 1 */
    "  lea 16(%rsp,%rcx,8), %rdx\n"  /* envp = &argv[argc + 1] */
    "  mov $59, %eax\n"              /* SYS_execve */
    "  syscall\n"
    "  mov %eax, %edi\n"
    "  neg %edi\n"
    "1:\n"
    "  mov $60, %eax\n"              /* SYS_exit */
    "  syscall\n"
    MSG);
#elif defined(__aarch64__)
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  ldr x3, [sp]\n"               /* argc */
    "  cmp x3, #2\n"
    "  b.hs 2f\n"
    "  mov x0, #2\n"                 /* stderr */
    "  adr x1, msg\n"
    "  mov x2, #(msgend - msg)\n"
    "  mov x8, #64\n"                /* SYS_write */
    "  svc #0\n"
    "  mov x0, #127\n"
    "  b 1f\n"
    "2:\n"
    "  ldr x0, [sp, #8]\n"           /* path = argv[0] */
    "  add x1, sp, #16\n"            /* argv + 1 */
    "  add x2, sp, x3, lsl #3\n"
    "  add x2, x2, #16\n"            /* envp = &argv[argc + 1] */
    "  mov x8, #221\n"               /* SYS_execve */
    "  svc #0\n"
    "  neg x0, x0\n"
    "1:\n"
    "  mov x8, #93\n"                /* SYS_exit */
    "  svc #0\n"
    MSG);
#else
#error "hull's exec trampoline supports x86_64 and aarch64"
#endif
