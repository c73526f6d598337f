// A Go HTTP client as services misuse it: a new http.Transport (and so a
// new connection) for each of N requests to URL, closed after each. Prints
// {"pid":P,"ok":N,"failed":N,"eaddrnotavail":N}, then, with a FIFO, stays
// alive until something opens the FIFO for writing. Standard library only:
// built by tests/workload.sh with Debian's golang-go, offline.
//   goclient URL N [FIFO]
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: goclient URL N [FIFO]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "goclient: bad N")
		os.Exit(2)
	}
	ok, failed, eaddr := 0, 0, 0
	for i := 0; i < n; i++ {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(os.Args[1])
		if err != nil {
			failed++
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				eaddr++
			}
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ok++
	}
	fmt.Printf("{\"pid\":%d,\"ok\":%d,\"failed\":%d,\"eaddrnotavail\":%d}\n", os.Getpid(), ok, failed, eaddr)
	os.Stdout.Sync()
	if len(os.Args) > 3 {
		if f, err := os.OpenFile(os.Args[3], os.O_RDONLY, 0); err == nil {
			f.Close()
		}
	}
}
