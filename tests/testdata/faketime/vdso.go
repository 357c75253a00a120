// The fake clock's second Go probe (CGO_ENABLED=0), built by tests/hull_faketime_vdso.rs:
//
//	vdso N   N time.Now() calls on one locked thread: prints that thread's voluntary context
//	         switches during the calls (a read answered by a ptrace supervisor stops the
//	         thread; a read in the vDSO does not) and the clock's seconds
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func switches() int {
	b, _ := os.ReadFile("/proc/thread-self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "voluntary_ctxt_switches:") {
			v := strings.TrimPrefix(l, "voluntary_ctxt_switches:")
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

func main() {
	runtime.LockOSThread()
	n, _ := strconv.Atoi(os.Args[2])
	var t time.Time
	before := switches()
	for i := 0; i < n; i++ {
		t = time.Now()
	}
	fmt.Println(switches()-before, t.Unix())
}
