package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run against a real PostgreSQL. By default the test binary
// starts its own cluster (initdb, then pg_ctl on a free port of
// 127.0.0.1), once, and stops it when the tests end; the outage tests stop,
// freeze and restart it. With SAML2SP_POSTGRES_DSN set, every test but the
// outage tests uses that server instead, and the outage tests still start
// a cluster of their own. When no PostgreSQL can be had the tests skip,
// loudly, unless CI is set: then they fail.

// dsnEnv names a server to use instead of the test's own cluster.
const dsnEnv = "SAML2SP_POSTGRES_DSN"

// cluster is a PostgreSQL cluster this test binary started.
type cluster struct {
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // scratch directory: data/, the socket, server.log
	port int
	// asPostgres: we are root, and PostgreSQL refuses to run as root, so
	// its commands run as the postgres user through su.
	asPostgres bool
}

// suite holds the cluster shared by the tests of this binary.
type suite struct {
	once    sync.Once
	cluster *cluster
	err     error
	skipped bool
}

var shared suite

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.pgctl("stop", "-m", "immediate", "-w"); err != nil {
			fmt.Fprintln(os.Stderr, "pgstore tests: stopping the test cluster:", err)
		}
		_ = os.RemoveAll(shared.cluster.dir)
	}
	if shared.skipped {
		fmt.Fprintf(os.Stderr, "\n*** pgstore: TESTS AGAINST POSTGRESQL WERE SKIPPED: %v\n"+
			"*** install PostgreSQL (apt-get install postgresql) or set %s; with CI set they fail instead.\n\n", shared.err, dsnEnv)
	}
	os.Exit(code)
}

// ownCluster returns the cluster this binary started, starting it on the
// first call. Without PostgreSQL's binaries the test skips (fails in CI).
func ownCluster(t testing.TB) *cluster {
	t.Helper()
	shared.once.Do(func() { shared.cluster, shared.err = startCluster() })
	if shared.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgstore: no PostgreSQL to test against (CI is set, so this fails): %v", shared.err)
		}
		shared.skipped = true
		t.Skipf("pgstore: SKIPPED, no PostgreSQL to test against: %v (set %s or install PostgreSQL)", shared.err, dsnEnv)
	}
	return shared.cluster
}

// testDSN returns the server the contract tests use: SAML2SP_POSTGRES_DSN,
// else this binary's own cluster.
func testDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(dsnEnv); dsn != "" {
		return dsn
	}
	return ownCluster(t).dsn()
}

// pgBinDir finds the newest PostgreSQL under /usr/lib/postgresql (Debian's
// layout), or the directory of a pg_ctl on PATH.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL binaries under /usr/lib/postgresql/*/bin nor pg_ctl on PATH")
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func startCluster() (*cluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgstore-test-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, asPostgres: os.Geteuid() == 0}
	if err := c.init(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *cluster) init() error {
	// postgres must be able to enter the scratch directory (MkdirTemp makes
	// it 0700) and, as root, own it.
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	if err := c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	return c.start()
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *cluster) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// start starts the server and waits until it takes connections.
func (c *cluster) start() error {
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s", c.port, c.dir)
	return c.pgctl("start", "-w", "-t", "60", "-o", opts, "-l", filepath.Join(c.dir, "server.log"))
}

// stopImmediate kills the server the way a crash or a pulled plug would:
// no shutdown checkpoint, every connection dropped.
func (c *cluster) stopImmediate() error { return c.pgctl("stop", "-m", "immediate", "-w") }

func (c *cluster) pgctl(args ...string) error {
	return c.run("pg_ctl", append([]string{"-D", c.data()}, args...)...)
}

// run runs one of PostgreSQL's programs, as the postgres user when we are
// root, in the scratch directory.
func (c *cluster) run(prog string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{filepath.Join(c.bin, prog)}, args...)
	var cmd *exec.Cmd
	if c.asPostgres {
		line := "cd " + shellQuote(c.dir) + " &&"
		for _, a := range argv {
			line += " " + shellQuote(a)
		}
		cmd = exec.CommandContext(ctx, "su", "postgres", "-s", "/bin/bash", "-c", line)
	} else {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = c.dir
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// processes returns the pids of the server: the postmaster (first line of
// postmaster.pid) and its children.
func (c *cluster) processes() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	main, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid: %w", err)
	}
	pids := []int{main}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(main) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// signal sends sig to every process of the server: SIGSTOP freezes it (it
// keeps its sockets open and answers nothing), SIGCONT thaws it.
func (c *cluster) signal(sig syscall.Signal) error {
	pids, err := c.processes()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}
