// The fake clock's Go probe (CGO_ENABLED=0: static, reads the clock through the vDSO
// when it has one), built by tests/hull_faketime.rs:
//
//	clock now       time.Now() in seconds
//	clock rate MS   the wall clock's advance over MS milliseconds of the monotonic clock,
//	                divided by them (1 at the real rate)
//	clock sleep N   time.Sleep(N s) then time.Now() in seconds
//	clock watch F   writes time.Now() in seconds to F every 100 ms, forever
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	switch os.Args[1] {
	case "now":
		fmt.Println(time.Now().Unix())
	case "rate":
		ms, _ := strconv.Atoi(os.Args[2])
		a := time.Now()
		for time.Since(a) < time.Duration(ms)*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
		}
		b := time.Now()
		wall := b.Round(0).Sub(a.Round(0))
		mono := b.Sub(a)
		fmt.Printf("%.3f %d %d\n", float64(wall)/float64(mono), a.Unix(), b.Unix())
	case "watch":
		for {
			os.WriteFile(os.Args[2]+".tmp", []byte(fmt.Sprintln(time.Now().Unix())), 0o644)
			os.Rename(os.Args[2]+".tmp", os.Args[2])
			time.Sleep(100 * time.Millisecond)
		}
	case "sleep":
		n, _ := strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(n) * time.Second)
		fmt.Println(time.Now().Unix())
	}
}
