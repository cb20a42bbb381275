package redisstore_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
)

// replyLoser is a go-redis Dialer whose connections lose the reply to the
// first command that contains marker: the command reaches Redis, which
// carries it out and answers, and the answer is read off the socket and
// thrown away. go-redis then sees a broken connection or a read timeout
// and retries the command on a new connection.
type replyLoser struct {
	marker []byte
	// late: after losing the reply, wait for the client's read deadline
	// (a timeout) rather than report the connection closed.
	late bool

	mu    sync.Mutex
	armed bool // the marker was seen once; later commands pass
	lost  int  // replies lost
}

func (l *replyLoser) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &lossyConn{Conn: c, l: l}, nil
}

func (l *replyLoser) lostReplies() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

type lossyConn struct {
	net.Conn
	l    *replyLoser
	drop bool // the next reply is lost
}

func (c *lossyConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	if !c.l.armed && bytes.Contains(p, c.l.marker) {
		c.l.armed, c.drop = true, true
	}
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *lossyConn) Read(p []byte) (int, error) {
	if !c.drop {
		return c.Conn.Read(p)
	}
	c.drop = false
	// The reply is a few bytes (":1\r\n"), in one read: once it is here,
	// Redis has carried the command out.
	buf := make([]byte, 512)
	if _, err := c.Conn.Read(buf); err != nil {
		return 0, err
	}
	c.l.mu.Lock()
	c.l.lost++
	c.l.mu.Unlock()
	if c.l.late {
		// Nothing more comes: this blocks until go-redis's read deadline.
		return c.Conn.Read(p)
	}
	_ = c.Conn.Close()
	return 0, io.ErrUnexpectedEOF
}

// TestReplayRetryRecognisesOwnWrite: a write that reached Redis but whose
// reply was lost is retried by go-redis; the retry finds the record, and
// the store recognises it as its own (the owner token) rather than report
// a replay. A real server, a real lost reply.
func TestReplayRetryRecognisesOwnWrite(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	cases := []struct {
		name string
		late bool
	}{
		{"reply lost with the connection", false},
		{"reply too late: read timeout", true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "request:https://sp.example/:_retried" + string(rune('0'+i))
			loser := &replyLoser{marker: []byte(replayKey("saml2sp:", id)), late: tc.late}
			s := newStore(t, srv, redisstore.Options{}, func(o *redis.Options) {
				o.Dialer = loser.dial
				o.ReadTimeout = 200 * time.Millisecond // well within the store's Timeout
				o.MaxRetries = 2
			})
			// Load the script, so that the call below is carried out by its
			// first EVALSHA (not refused with NOSCRIPT).
			require.NoError(t, s.CheckAndStore(ctx, "warm-up"+id, time.Now().Add(time.Minute)))

			require.NoError(t, s.CheckAndStore(ctx, id, time.Now().Add(time.Minute)), "our own first write is not a replay")
			assert.Equal(t, 1, loser.lostReplies(), "the first attempt's reply was lost and go-redis retried")

			err := newStore(t, srv, redisstore.Options{}).CheckAndStore(ctx, id, time.Now().Add(time.Minute))
			require.ErrorIs(t, err, saml2sp.ErrReplay, "the record was stored once, and holds")
		})
	}
}
