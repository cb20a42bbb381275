package pgstore_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// lossyProxy forwards PostgreSQL connections from a local port to the
// server, and can lose the reply to an INSERT after the server committed
// it: while armed, it holds back the server's messages until
// ReadyForQuery (sent once the statement's implicit transaction has
// committed), and if they hold an INSERT's CommandComplete it drops them
// and closes both ends, as a network that fails at the worst moment
// would. The client sees its connection break with the row written.
type lossyProxy struct {
	ln     net.Listener
	target string
	// armed counts the replies still to lose; -1 loses every one.
	armed   atomic.Int32
	dropped atomic.Int32
	// beforeInsertReply, when set, runs before an INSERT's reply that is
	// not lost goes to the client: the moment between a statement and
	// the caller's next one.
	beforeInsertReply atomic.Pointer[func()]
	wg                sync.WaitGroup
	mu                sync.Mutex
	conns             []net.Conn
}

func newLossyProxy(t testing.TB, target string) *lossyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *lossyProxy) addr() string { return p.ln.Addr().String() }

func (p *lossyProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *lossyProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(server, client)
			_ = server.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.replies(client, server)
			_ = client.Close()
			_ = server.Close()
		}()
	}
}

// replies copies the server's messages (a type byte and a length that
// counts itself; sslmode=disable, so nothing else) to the client, losing
// an INSERT's reply while armed.
func (p *lossyProxy) replies(client, server net.Conn) {
	var held bytes.Buffer
	sawInsert := false
	for {
		var head [5]byte
		if _, err := io.ReadFull(server, head[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(head[1:])) - 4
		if n < 0 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		held.Write(head[:])
		held.Write(body)
		if head[0] == 'C' && bytes.HasPrefix(body, []byte("INSERT ")) {
			sawInsert = true
		}
		if head[0] != 'Z' {
			continue
		}
		if sawInsert && p.take() {
			p.dropped.Add(1)
			return // the caller closes both ends
		}
		if f := p.beforeInsertReply.Load(); sawInsert && f != nil {
			(*f)()
		}
		if _, err := client.Write(held.Bytes()); err != nil {
			return
		}
		held.Reset()
		sawInsert = false
	}
}

// take reports whether this reply is to be lost, counting it.
func (p *lossyProxy) take() bool {
	for {
		n := p.armed.Load()
		switch {
		case n == 0:
			return false
		case n < 0:
			return true
		case p.armed.CompareAndSwap(n, n-1):
			return true
		}
	}
}
