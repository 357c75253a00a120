# The code hull's clock supervisor writes into each container process's vDSO (x86_64), in
# the free space after the vDSO's section headers; the vDSO's symbols clock_gettime,
# gettimeofday and time (and their __vdso_ names) are pointed at these entries. Each calls
# the vDSO's own function (its address is in the data block) and, for the realtime clocks
# only, turns the real time into the faked one:
#     fake = base + ((real - t0) * mult) >> 32        (mult = rate * 2^32; 0 when frozen)
# The data block is read under a sequence count (odd while the supervisor rewrites it, from
# outside, through /proc/PID/mem), so an update reaches a running process at its next read.
# Position-independent: everything is addressed relative to rip, within this blob.
# Only caller-saved registers are used (rax, rcx, rdx, rsi, rdi, r8, r9), no SSE.
# scripts/vdso-stub.sh assembles it into stub.rs (the bytes and the offsets).

	.intel_syntax noprefix
	.text
blob:
seq:	.quad 0		# even when the data is whole
t0:	.quad 0		# real time (ns) at which the faked clock read `base`
base:	.quad 0		# faked time (ns) at t0
mult:	.quad 0		# rate * 2^32
orig_cgt:	.quad 0	# the vDSO's clock_gettime
orig_gtod:	.quad 0	# the vDSO's gettimeofday
	.balign 16

# rcx: real time (ns) -> faked time (ns). Clobbers rax, rdx, r8, r9. A torn read (the
# count moved or was odd) is retried, a bounded number of times: a supervisor killed in the
# middle of a write must not hang its processes.
apply:
	mov r9d, 100000
1:	mov r8, [rip + seq]
	mov rax, rcx
	sub rax, [rip + t0]
	imul qword ptr [rip + mult]
	shrd rax, rdx, 32
	add rax, [rip + base]
	dec r9d
	jz 2f
	test r8, 1
	jnz 3f
	cmp r8, [rip + seq]
	jne 3f
2:	mov rcx, rax
	ret
3:	pause
	jmp 1b

# rcx: ns -> the timespec at rsi (floor division). Clobbers rax, rdx, r8.
store_ts:
	mov rax, rcx
	cqo
	mov r8, 1000000000
	idiv r8
	test rdx, rdx
	jns 4f
	add rdx, r8
	dec rax
4:	mov [rsi], rax
	mov [rsi + 8], rdx
	ret

# int clock_gettime(clockid_t clk, struct timespec *ts)
	.balign 16
clock_gettime:
	endbr64
	cmp edi, 0		# CLOCK_REALTIME
	je 3f
	cmp edi, 5		# CLOCK_REALTIME_COARSE
	je 3f
	cmp edi, 11		# CLOCK_TAI
	je 3f
	jmp [rip + orig_cgt]
3:	push rsi
	call [rip + orig_cgt]
	pop rsi
	test eax, eax
	jnz 4f
	mov rcx, [rsi]
	imul rcx, rcx, 1000000000
	add rcx, [rsi + 8]
	call apply
	call store_ts
	xor eax, eax
4:	ret

# int gettimeofday(struct timeval *tv, struct timezone *tz)
	.balign 16
gettimeofday:
	endbr64
	test rdi, rdi
	jz 6f
	push rdi
	call [rip + orig_gtod]
	pop rsi
	test eax, eax
	jnz 5f
	mov rcx, [rsi]
	imul rcx, rcx, 1000000000
	imul rax, [rsi + 8], 1000
	add rcx, rax
	call apply
	call store_ts
	mov rax, [rsi + 8]
	xor edx, edx
	mov r8, 1000
	div r8
	mov [rsi + 8], rax
	xor eax, eax
5:	ret
6:	jmp [rip + orig_gtod]

# time_t time(time_t *t)
	.balign 16
time:
	endbr64
	push rdi
	sub rsp, 16
	xor edi, edi
	mov rsi, rsp
	call clock_gettime
	mov rax, [rsp]
	add rsp, 16
	pop rdi
	test rdi, rdi
	jz 7f
	mov [rdi], rax
7:	ret
blob_end:
