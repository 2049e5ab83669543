// A small HTTP service for the xtask's end-to-end tests: it answers each
// request with a checksum (main.checksum, called by main.handler), counts
// requests in redis when given -redis, and with -flush-after-load burns
// CPU in main.flushAfterLoad for one second once requests stop.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	redisMu   sync.Mutex
	redisConn net.Conn
	redisIn   *bufio.Reader
	served    int64
	lastNanos int64
)

// redis sends one command (RESP) and returns its reply.
func redis(args ...string) (string, error) {
	redisMu.Lock()
	defer redisMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(redisConn, b.String()); err != nil {
		return "", err
	}
	line, err := redisIn.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(redisIn, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return strings.TrimLeft(line, ":+"), nil
}

//go:noinline
func checksum(n int) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < n; i++ {
		h ^= uint64(i)
		h *= 1099511628211
	}
	return h
}

func handler(w http.ResponseWriter, r *http.Request) {
	atomic.AddInt64(&served, 1)
	atomic.StoreInt64(&lastNanos, time.Now().UnixNano())
	sum := checksum(20000)
	if redisConn == nil {
		fmt.Fprintf(w, "ok %d\n", sum)
		return
	}
	hits, err := redis("INCR", "hits")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lost redis:", err)
		os.Exit(2)
	}
	fmt.Fprintf(w, "hit %s %d\n", hits, sum)
}

//go:noinline
func flushAfterLoad() uint64 {
	deadline := time.Now().Add(time.Second)
	var h uint64
	for time.Now().Before(deadline) {
		h += checksum(10000)
	}
	return h
}

// flusher flushes once requests have stopped for 300 ms.
func flusher() {
	var flushed int64
	for {
		time.Sleep(20 * time.Millisecond)
		n := atomic.LoadInt64(&served)
		last := time.Unix(0, atomic.LoadInt64(&lastNanos))
		if n > flushed && time.Since(last) > 300*time.Millisecond {
			flushed = n
			fmt.Println("flushing after the load")
			flushAfterLoad()
		}
	}
}

func main() {
	port := flag.Int("port", 0, "port to listen on (127.0.0.1)")
	redisPort := flag.Int("redis", 0, "redis port on 127.0.0.1, holding greeting=hello")
	flush := flag.Bool("flush-after-load", false, "burn CPU for 1 s after requests stop")
	flag.Parse()
	if *redisPort != 0 {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", *redisPort), time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redis is not reachable:", err)
			os.Exit(1)
		}
		redisConn, redisIn = c, bufio.NewReader(c)
		if greeting, err := redis("GET", "greeting"); err != nil || greeting != "hello" {
			fmt.Fprintf(os.Stderr, "redis holds no greeting (%q, %v)\n", greeting, err)
			os.Exit(1)
		}
	}
	if *flush {
		go flusher()
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %d\n", *port)
	http.HandleFunc("/", handler)
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
