package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCheckAndStore(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	exp := t0.Add(10 * time.Minute)
	cases := []struct {
		name string
		// now is the store's clock at the second use.
		now  time.Time
		id2  string
		want error
	}{
		{"the same ID again is a replay", t0.Add(time.Minute), "assertion:idp:_a", saml2sp.ErrReplay},
		{"still a replay at its expiry", exp, "assertion:idp:_a", saml2sp.ErrReplay},
		{"still a replay within Grace of its expiry", exp.Add(pgstore.Grace - time.Second), "assertion:idp:_a", saml2sp.ErrReplay},
		{"taken over after Grace", exp.Add(pgstore.Grace + time.Second), "assertion:idp:_a", nil},
		{"another ID", t0.Add(time.Minute), "assertion:idp:_b", nil},
		{"an ID that differs in case", t0.Add(time.Minute), "assertion:idp:_A", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fixedClock{t0}
			s, _ := newStore(t, dsn, pgstore.Options{Clock: clock.now})
			require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_a", exp))
			clock.t = tc.now
			err := s.CheckAndStore(ctx, tc.id2, tc.now.Add(10*time.Minute))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.NotErrorIs(t, err, saml2sp.ErrUnavailable)
		})
	}

	t.Run("a record taken over counts again", func(t *testing.T) {
		clock := &fixedClock{t0}
		s, _ := newStore(t, dsn, pgstore.Options{Clock: clock.now})
		require.NoError(t, s.CheckAndStore(ctx, "x", t0.Add(time.Minute)))
		clock.t = t0.Add(time.Minute + pgstore.Grace + time.Second)
		require.NoError(t, s.CheckAndStore(ctx, "x", clock.t.Add(time.Minute)))
		require.ErrorIs(t, s.CheckAndStore(ctx, "x", clock.t.Add(time.Minute)), saml2sp.ErrReplay)
	})

	t.Run("records are keyed by SHA-256 of the ID", func(t *testing.T) {
		prefix := freshPrefix()
		s, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix})
		long := "assertion:https://idp.example:" + strings.Repeat("x", 1<<20)
		require.NoError(t, s.CheckAndStore(ctx, long, time.Now().Add(time.Minute)))
		require.ErrorIs(t, s.CheckAndStore(ctx, long, time.Now().Add(time.Minute)), saml2sp.ErrReplay)
		sum := sha256.Sum256([]byte(long))
		rows := replayRows(t, pool, prefix)
		require.Len(t, rows, 1)
		assert.Len(t, rows[hex.EncodeToString(sum[:])], 16, "one row under the digest, with a 16-byte owner token")
	})

	t.Run("replicas share the records", func(t *testing.T) {
		prefix := freshPrefix()
		a, _ := newStore(t, dsn, pgstore.Options{TablePrefix: prefix})
		b, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: prefix})
		require.NoError(t, err)
		require.NoError(t, a.CheckAndStore(ctx, "request:sp:_r1", time.Now().Add(time.Minute)))
		require.ErrorIs(t, b.CheckAndStore(ctx, "request:sp:_r1", time.Now().Add(time.Minute)), saml2sp.ErrReplay)
	})

	t.Run("a missing table is unavailable, not a replay", func(t *testing.T) {
		s, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: freshPrefix()})
		require.NoError(t, err)
		err = s.CheckAndStore(ctx, "x", time.Now().Add(time.Minute))
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
		assert.NotErrorIs(t, err, saml2sp.ErrReplay)
		assert.Contains(t, err.Error(), "does not exist")
	})
}

// TestCheckAndStoreConcurrent: of 40 concurrent uses of one ID, spread
// over two replicas' pools, exactly one succeeds and every other is a
// replay, both for a new ID and for an expired record being taken over.
func TestCheckAndStoreConcurrent(t *testing.T) {
	dsn := testDSN(t)
	for _, tc := range []struct {
		name    string
		expired bool
	}{
		{"a new ID", false},
		{"an expired record", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := freshPrefix()
			clock := &fixedClock{t0}
			a, _ := newStore(t, dsn, pgstore.Options{TablePrefix: prefix, Clock: clock.now})
			b, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: prefix, Clock: clock.now})
			require.NoError(t, err)
			if tc.expired {
				require.NoError(t, a.CheckAndStore(context.Background(), "same", t0.Add(-pgstore.Grace-time.Minute)))
			}
			const n = 40
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := a
					if i%2 == 1 {
						s = b
					}
					<-start
					errs[i] = s.CheckAndStore(context.Background(), "same", t0.Add(time.Minute))
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
					continue
				}
				require.ErrorIs(t, err, saml2sp.ErrReplay)
				require.NotErrorIs(t, err, saml2sp.ErrUnavailable)
			}
			assert.Equal(t, 1, wins)
		})
	}
}

// TestCheckAndStoreRetry: the first INSERT commits but its reply is lost
// and the connection breaks. The call runs the statement again, finds the
// record with its own owner token, and succeeds: a lost reply is not a
// replay. Another call with the ID is still a replay.
func TestCheckAndStoreRetry(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	prefix := freshPrefix()
	direct, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix})
	proxy := newLossyProxy(t, hostPort(t, dsn))
	viaProxy, err := pgstore.New(newPool(t, throughProxy(t, dsn, proxy)), pgstore.Options{TablePrefix: prefix})
	require.NoError(t, err)
	// Connect and prepare first, so that the reply lost is the INSERT's.
	require.NoError(t, viaProxy.CheckAndStore(ctx, "warm-up", time.Now().Add(time.Minute)))

	proxy.armed.Store(1)
	require.NoError(t, viaProxy.CheckAndStore(ctx, "request:sp:_r1", time.Now().Add(time.Minute)))
	require.Equal(t, int32(1), proxy.dropped.Load(), "the first reply was lost")
	sum := sha256.Sum256([]byte("request:sp:_r1"))
	assert.Contains(t, replayRows(t, pool, prefix), hex.EncodeToString(sum[:]))
	require.ErrorIs(t, direct.CheckAndStore(ctx, "request:sp:_r1", time.Now().Add(time.Minute)), saml2sp.ErrReplay)
	require.ErrorIs(t, viaProxy.CheckAndStore(ctx, "request:sp:_r1", time.Now().Add(time.Minute)), saml2sp.ErrReplay)
}

// TestCheckAndStoreNoReply: when every reply is lost, the call fails as
// unavailable after its attempts, although its first one committed:
// never ErrReplay.
func TestCheckAndStoreNoReply(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	prefix := freshPrefix()
	_, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix})
	proxy := newLossyProxy(t, hostPort(t, dsn))
	s, err := pgstore.New(newPool(t, throughProxy(t, dsn, proxy)), pgstore.Options{TablePrefix: prefix})
	require.NoError(t, err)
	require.NoError(t, s.CheckAndStore(ctx, "warm-up", time.Now().Add(time.Minute)))

	proxy.armed.Store(-1)
	err = s.CheckAndStore(ctx, "request:sp:_r2", time.Now().Add(time.Minute))
	require.ErrorIs(t, err, saml2sp.ErrUnavailable)
	assert.NotErrorIs(t, err, saml2sp.ErrReplay)
	assert.Equal(t, int32(3), proxy.dropped.Load(), "three attempts, each reply lost")
	assert.Len(t, replayRows(t, pool, prefix), 2, "the first attempt committed")
}

// TestCheckAndStoreRecordVanishes: a live record stops the insert, and
// is deleted (by a replica whose clock runs ahead) before the call reads
// its owner. The call inserts again and succeeds: nobody else holds the
// ID, so it is neither a replay nor a failure.
func TestCheckAndStoreRecordVanishes(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	prefix := freshPrefix()
	clock := &fixedClock{t0}
	_, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix, Clock: clock.now})
	proxy := newLossyProxy(t, hostPort(t, dsn))
	s, err := pgstore.New(newPool(t, throughProxy(t, dsn, proxy)), pgstore.Options{TablePrefix: prefix, Clock: clock.now})
	require.NoError(t, err)
	require.NoError(t, s.CheckAndStore(ctx, "id", t0.Add(-time.Minute)), "expired, but within Grace")

	var deleted atomic.Int32
	del := func() {
		if deleted.Add(1) == 1 {
			_, err := pool.Exec(ctx, `DELETE FROM "`+prefix+`replay"`)
			assert.NoError(t, err)
		}
	}
	proxy.beforeInsertReply.Store(&del)
	require.NoError(t, s.CheckAndStore(ctx, "id", t0.Add(time.Minute)))
	require.Equal(t, int32(2), deleted.Load(), "the record vanished after the first INSERT, and a second one ran")
	require.ErrorIs(t, s.CheckAndStore(ctx, "id", t0.Add(time.Minute)), saml2sp.ErrReplay)
}

func TestNew(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	require.NoError(t, err) // no connection yet
	t.Cleanup(pool.Close)
	for _, tc := range []struct {
		name string
		opts pgstore.Options
		ok   bool
	}{
		{"defaults", pgstore.Options{}, true},
		{"a prefix", pgstore.Options{TablePrefix: "app1_saml_"}, true},
		{"the longest prefix", pgstore.Options{TablePrefix: strings.Repeat("p", 38)}, true},
		{"too long a prefix", pgstore.Options{TablePrefix: strings.Repeat("p", 39)}, false},
		{"upper case", pgstore.Options{TablePrefix: "App_"}, false},
		{"a quote", pgstore.Options{TablePrefix: `x"; DROP TABLE users; --`}, false},
		{"a dot", pgstore.Options{TablePrefix: "public.saml_"}, false},
		{"a leading digit", pgstore.Options{TablePrefix: "1_"}, false},
		{"a negative timeout", pgstore.Options{Timeout: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pgstore.New(pool, tc.opts)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
	_, err = pgstore.New(nil, pgstore.Options{})
	require.Error(t, err)
}

func TestSchema(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	pool := newPool(t, dsn)
	s, err := pgstore.New(pool, pgstore.Options{})
	require.NoError(t, err)
	assert.Equal(t, pgstore.SchemaSQL, s.SchemaSQL(), "the constant is the default prefix's schema")

	t.Run("CreateSchema is idempotent and safe to run at once", func(t *testing.T) {
		prefix := freshPrefix()
		s, err := pgstore.New(pool, pgstore.Options{TablePrefix: prefix})
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS "%sreplay", "%srevocation"`, prefix, prefix))
		})
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() { errs <- s.CreateSchema(ctx) }()
		}
		for range n {
			require.NoError(t, <-errs)
		}
		require.NoError(t, s.CreateSchema(ctx))
		require.NoError(t, s.CheckAndStore(ctx, "x", time.Now().Add(time.Minute)))
	})
	t.Run("SchemaSQL applied as one migration", func(t *testing.T) {
		prefix := freshPrefix()
		s, err := pgstore.New(pool, pgstore.Options{TablePrefix: prefix})
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS "%sreplay", "%srevocation"`, prefix, prefix))
		})
		for range 2 {
			_, err := pool.Exec(ctx, s.SchemaSQL())
			require.NoError(t, err)
		}
		require.NoError(t, s.CheckAndStore(ctx, "x", time.Now().Add(time.Minute)))
		require.NoError(t, s.Revoke(ctx, saml2sp.Revocation{IdP: "i", NameID: "n"}, time.Now(), time.Now().Add(time.Minute)))
	})
}

// hostPort returns the host:port of a postgres:// DSN.
func hostPort(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	return fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
}

// throughProxy returns dsn with its host and port replaced by the proxy's,
// without TLS (the proxy reads the protocol's framing).
func throughProxy(t testing.TB, dsn string, p *lossyProxy) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		require.NoError(t, errors.New("the retry tests need a postgres:// URL DSN"))
	}
	u.Host = p.addr()
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}
