package redisstore_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServerEnv may name the redis-server binary; otherwise it is looked
// up on PATH.
const redisServerEnv = "SAML2SP_REDIS_SERVER"

// redisServer is a redis-server process of the test's own on 127.0.0.1,
// without persistence, that the test can stop, freeze and bring back.
type redisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer
	frozen bool
}

// startRedis starts a redis-server for t and stops it when t ends. Without
// the binary the test skips loudly, or fails when CI is set.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin := os.Getenv(redisServerEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			msg := "redis-server not found in PATH (Debian: apt-get install redis-server; or set " + redisServerEnv + ")"
			if os.Getenv("CI") == "" {
				t.Skip("!!!!! SKIPPED: " + msg + " !!!!!")
			}
			t.Fatal("CI is set but " + msg)
		}
	}
	s := &redisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.kill)
	// A free port can be taken by another process before redis binds it.
	var err error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.launch(); err == nil {
			return s
		}
	}
	t.Fatalf("starting redis-server: %v\n%s", err, s.logText())
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is the server's host:port.
func (s *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// launch starts the process on s.port and waits until it answers PING.
func (s *redisServer) launch() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &lockedWriter{s}, &lockedWriter{s}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server did not answer PING in 10s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING over a plain connection (go-redis would log every
// refused dial while the server starts).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", buf)
	}
	return nil
}

// Stop ends the server: connections are refused until Start.
func (s *redisServer) Stop() {
	s.t.Helper()
	s.kill()
}

// Start brings a stopped server back on the same port, empty.
func (s *redisServer) Start() {
	s.t.Helper()
	require.NoError(s.t, s.launch(), s.logText())
}

// Freeze stops the process with SIGSTOP: the kernel still accepts
// connections and takes requests, but nothing answers.
func (s *redisServer) Freeze() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGSTOP))
	s.frozen = true
}

// Thaw resumes a frozen server.
func (s *redisServer) Thaw() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGCONT))
	s.frozen = false
}

// kill ends the process this test started, if it runs, and waits for it.
func (s *redisServer) kill() {
	s.mu.Lock()
	cmd, exited, frozen := s.cmd, s.exited, s.frozen
	s.cmd, s.frozen = nil, false
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	if frozen {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (s *redisServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// lockedWriter appends the server's output to its log.
type lockedWriter struct{ s *redisServer }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}

// client returns a go-redis client for the server, configured as the
// package example recommends, closed when the test ends.
func (s *redisServer) client(t testing.TB, mods ...func(*redis.Options)) *redis.Client {
	t.Helper()
	opt := recommendedOptions(s.Addr())
	for _, m := range mods {
		m(opt)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recommendedOptions are the client settings the README and the example
// show.
func recommendedOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		MaxRetries:            1,
		DialerRetries:         1,
	}
}
