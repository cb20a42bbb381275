package saml2sp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mdServe starts a test server running h.
func mdServe(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func mdServeBody(t *testing.T, status int, contentType, body string) *httptest.Server {
	return mdServe(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestFetchMetadata(t *testing.T) {
	okta := string(mdReadFixture(t, "okta.xml"))
	good := mdServeBody(t, http.StatusOK, "application/samlmetadata+xml", okta)

	t.Run("good metadata with the default client", func(t *testing.T) {
		idp, err := FetchMetadata(context.Background(), nil, good.URL+"/metadata")
		require.NoError(t, err)
		assert.Equal(t, "http://www.okta.com/exk1fcia6d6EMsf331d8", idp.EntityID)
	})

	t.Run("good metadata with the caller's client and a deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		idp, err := FetchMetadata(ctx, good.Client(), good.URL)
		require.NoError(t, err)
		assert.Len(t, idp.Certificates, 1)
	})

	t.Run("redirect to good metadata", func(t *testing.T) {
		redir := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, good.URL+"/moved", http.StatusFound)
		})
		idp, err := FetchMetadata(context.Background(), nil, redir.URL)
		require.NoError(t, err)
		assert.Equal(t, "http://www.okta.com/exk1fcia6d6EMsf331d8", idp.EntityID)
	})

	t.Run("metadata with a UTF-8 byte order mark, served as text/xml", func(t *testing.T) {
		srv := mdServeBody(t, http.StatusOK, "text/xml; charset=utf-8", "\ufeff"+okta)
		_, err := FetchMetadata(context.Background(), nil, srv.URL)
		require.NoError(t, err)
	})
}

func TestFetchMetadataErrors(t *testing.T) {
	okta := string(mdReadFixture(t, "okta.xml"))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		path    string
		want    []string
		notWant []string
	}{
		{
			name: "404 with an HTML body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte("<html><body>\x1b[31mNot\x00 Found\r\nFAKE-LOG-LINE</body></html>" + strings.Repeat("A", 300) + "TAIL"))
			},
			path:    "/app/metadata",
			want:    []string{"/app/metadata", "404 Not Found", `Content-Type "text/html"`, "<html><body>?[31mNot? Found FAKE-LOG-LINE"},
			notWant: []string{"\x1b", "\x00", "\n", "TAIL"},
		},
		{
			name: "500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream database unavailable", http.StatusInternalServerError)
			},
			want: []string{"500 Internal Server Error", "upstream database unavailable"},
		},
		{
			name: "login page instead of metadata",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte("<html><head><title>Sign in to your account</title></head></html>"))
			},
			want: []string{"an HTML page", `Content-Type "text/html; charset=utf-8"`, "not SAML metadata", "Sign in to your account"},
		},
		{
			name: "HTML page served as XML",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				_, _ = w.Write([]byte("\n  <!DOCTYPE html><html><title>Sign in</title></html>"))
			},
			want: []string{"an HTML page", `Content-Type "application/xml"`, "not SAML metadata"},
		},
		{
			name: "JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"error":"not_found"}`))
			},
			want: []string{"not XML", `Content-Type "application/json"`, "not SAML metadata", `{\"error\":\"not_found\"}`},
		},
		{
			name: "empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			},
			want: []string{"an empty body", "not SAML metadata"},
		},
		{
			name: "XML that is not metadata",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				_, _ = w.Write([]byte(`<rss version="2.0"><channel/></rss>`))
			},
			want: []string{"invalid metadata: fetched from", `Content-Type "application/xml"`, "document element is <rss>"},
		},
		{
			name: "several IdPs",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(mdReadFixture(t, "entities-3-idps.xml"))
			},
			want: []string{"3 identity providers", "ParseMetadataEntity"},
		},
		{
			name: "expired metadata",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(strings.Replace(okta, "entityID=", `validUntil="2021-01-01T00:00:00Z" entityID=`, 1)))
			},
			want: []string{"invalid metadata: fetched from", "validUntil 2021-01-01T00:00:00Z has passed"},
		},
		{
			name: "body larger than 10 MiB, streamed without Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/samlmetadata+xml")
				_, _ = w.Write([]byte(okta + "<!--"))
				chunk := []byte(strings.Repeat(" ", 64<<10))
				for written := 0; written <= MaxMetadataSize+len(chunk); written += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			},
			want: []string{"response body exceeds the 10 MiB limit"},
		},
		{
			name: "Content-Length larger than 10 MiB",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(MaxMetadataSize+1))
				_, _ = w.Write([]byte(okta))
			},
			want: []string{"response body of 10485761 bytes exceeds the 10 MiB limit"},
		},
		{
			name: "redirect to a file: URL",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			},
			want: []string{`refusing redirect to "file:///etc/passwd"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mdServe(t, tt.handler)
			u := srv.URL + tt.path
			idp, err := FetchMetadata(context.Background(), nil, u)
			require.Error(t, err)
			assert.Nil(t, idp)
			assert.ErrorIs(t, err, ErrMetadata)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "saml2sp: invalid metadata: "), msg)
			assert.Contains(t, msg, u, "the error names what was fetched")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, msg, w)
			}
		})
	}
}

func TestFetchMetadataTimeouts(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})

	t.Run("caller's deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := FetchMetadata(ctx, nil, slow.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), slow.URL)
		assert.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("default deadline when the context has none", func(t *testing.T) {
		// A client without its own timeout: only the default deadline can stop it.
		start := time.Now()
		_, err := mdGet(context.Background(), &http.Client{}, slow.URL, 100*time.Millisecond, mdOptions{}, mdValidators{})
		require.ErrorIs(t, err, ErrMetadata)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("default client timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		_, err := mdGet(ctx, nil, slow.URL, 100*time.Millisecond, mdOptions{}, mdValidators{})
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "Client.Timeout")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
}

func TestFetchMetadataRedirectPolicy(t *testing.T) {
	okta := mdReadFixture(t, "okta.xml")
	plain := mdServe(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(okta) })

	t.Run("https to http downgrade", func(t *testing.T) {
		tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+"/metadata", http.StatusMovedPermanently)
		}))
		defer tls.Close()
		_, err := FetchMetadata(context.Background(), tls.Client(), tls.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "refusing redirect from https to "+plain.URL+"/metadata")
	})

	t.Run("https to https is followed", func(t *testing.T) {
		target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(okta) }))
		defer target.Close()
		tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
		}))
		defer tls.Close()
		// Both servers share httptest's certificate.
		_, err := FetchMetadata(context.Background(), tls.Client(), tls.URL)
		require.NoError(t, err)
	})

	t.Run("redirect loop stops after 10", func(t *testing.T) {
		var hits atomic.Int32
		loop := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Redirect(w, r, "/again", http.StatusFound)
		})
		_, err := FetchMetadata(context.Background(), nil, loop.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "stopped after 10 redirects")
		assert.Equal(t, int32(10), hits.Load())
	})

	t.Run("the caller's CheckRedirect still applies", func(t *testing.T) {
		redir := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL, http.StatusFound)
		})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("no redirects for you")
		}}
		_, err := FetchMetadata(context.Background(), client, redir.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "no redirects for you")
	})
}

func TestFetchMetadataURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		{name: "file", url: "file:///etc/passwd"},
		{name: "ftp", url: "ftp://idp.example.com/metadata.xml"},
		{name: "javascript", url: "javascript:alert(1)"},
		{name: "relative", url: "/metadata"},
		{name: "no host", url: "https:///metadata"},
		{name: "empty", url: ""},
		{name: "not a URL", url: "https://exa mple.com/\x7f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FetchMetadata(context.Background(), nil, tt.url)
			require.ErrorIs(t, err, ErrMetadata)
			assert.Contains(t, err.Error(), "is not an absolute http or https URL")
		})
	}
}

func TestFetchMetadataRedactsPassword(t *testing.T) {
	srv := mdServeBody(t, http.StatusForbidden, "text/plain", "forbidden")
	u := strings.Replace(srv.URL, "http://", "http://admin:s3cret@", 1)
	_, err := FetchMetadata(context.Background(), nil, u)
	require.ErrorIs(t, err, ErrMetadata)
	assert.NotContains(t, err.Error(), "s3cret")
	assert.Contains(t, err.Error(), "403 Forbidden")
}

// mdRouteTo returns a client that connects to addr for the host
// idp.example.com (no DNS, no network), to other hosts as usual, and whose
// connections report remote as their peer when it is set.
func mdRouteTo(addr string, remote net.Addr) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, hostPort string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(hostPort); host == "idp.example.com" {
			hostPort = addr
		}
		c, err := d.DialContext(ctx, network, hostPort)
		if err != nil || remote == nil {
			return c, err
		}
		return mdOtherPeer{Conn: c, remote: remote}, nil
	}}}
}

// mdOtherPeer is a connection that reports another peer address: what a client
// sees when "localhost" resolves elsewhere or a proxy is in between.
type mdOtherPeer struct {
	net.Conn
	remote net.Addr
}

func (c mdOtherPeer) RemoteAddr() net.Addr { return c.remote }

// mdStubTransport answers every request with the body, without a
// connection (as a test double or an exotic RoundTripper would).
type mdStubTransport struct {
	body  []byte
	calls *atomic.Int32
}

func (s mdStubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: req,
		Header: http.Header{"Content-Type": {"application/samlmetadata+xml"}}, Body: io.NopCloser(bytes.NewReader(s.body))}, nil
}

func TestFetchMetadataPlainHTTPRule(t *testing.T) {
	okta := mdReadFixture(t, "okta.xml")
	var hits atomic.Int32
	srv := mdServe(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); _, _ = w.Write(okta) })
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	remoteIdP := "http://idp.example.com:" + strconv.Itoa(port) + "/metadata"
	elsewhere := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 80} // TEST-NET-1: never dialled
	insecure := []FetchMetadataOption{InsecureAllowHTTP()}
	redirectTo := func(target string) string {
		return mdServe(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) }).URL
	}
	tests := []struct {
		name    string
		client  *http.Client
		url     string
		opts    []FetchMetadataOption
		wantErr string // "" : fetched
		noHit   bool   // the IdP server must not have been asked
	}{
		{name: "http on 127.0.0.1 needs no option", url: srv.URL},
		{name: "http on localhost needs no option", url: "http://localhost:" + strconv.Itoa(port) + "/metadata"},
		{name: "http on another host is refused before any request",
			client: mdRouteTo(srv.Listener.Addr().String(), nil), url: remoteIdP,
			wantErr: "is plain http, so anyone on the network path could swap in their own signing key", noHit: true},
		{name: "http on another host with InsecureAllowHTTP",
			client: mdRouteTo(srv.Listener.Addr().String(), nil), url: remoteIdP, opts: insecure},
		{name: "localhost whose connection goes off the machine is refused",
			client: mdRouteTo(srv.Listener.Addr().String(), elsewhere), url: "http://localhost:" + strconv.Itoa(port) + "/metadata",
			wantErr: "the connection went to 192.0.2.10:80, not a loopback address"},
		{name: "127.0.0.1 reached through a proxy on another machine is refused",
			client: mdRouteTo(srv.Listener.Addr().String(), elsewhere), url: srv.URL,
			wantErr: "not a loopback address"},
		{name: "off-machine connection with InsecureAllowHTTP",
			client: mdRouteTo(srv.Listener.Addr().String(), elsewhere), url: srv.URL, opts: insecure},
		{name: "loopback http redirecting to http on another host is refused",
			client: mdRouteTo(srv.Listener.Addr().String(), nil), url: redirectTo(remoteIdP),
			wantErr: "refusing redirect to plain http " + remoteIdP + " off this machine", noHit: true},
		{name: "loopback http redirecting to http on another host with InsecureAllowHTTP",
			client: mdRouteTo(srv.Listener.Addr().String(), nil), url: redirectTo(remoteIdP), opts: insecure},
		{name: "loopback http redirecting to loopback http", url: redirectTo(srv.URL + "/moved")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			_, err := FetchMetadata(context.Background(), tc.client, tc.url, tc.opts...)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrMetadata)
			assert.Contains(t, err.Error(), tc.wantErr)
			if tc.noHit {
				assert.Zero(t, hits.Load(), "the plain http IdP was asked")
			}
		})
	}

	t.Run("a Transport that reports no connection", func(t *testing.T) {
		var calls atomic.Int32
		stub := &http.Client{Transport: mdStubTransport{body: okta, calls: &calls}}
		_, err := FetchMetadata(context.Background(), stub, "http://127.0.0.1/metadata")
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "the client's Transport does not report which address it connected to")
		_, err = FetchMetadata(context.Background(), stub, "http://127.0.0.1/metadata", InsecureAllowHTTP())
		require.NoError(t, err, "the option skips the check")
		_, err = FetchMetadata(context.Background(), stub, "https://idp.example.com/metadata")
		require.NoError(t, err, "https is not checked for loopback")
		assert.Equal(t, int32(3), calls.Load())
	})
}

// mdMixedTransport serves host "stub" from memory (no connection to
// report) and sends every other request to net/http's Transport.
type mdMixedTransport struct{ stub mdStubTransport }

func (m mdMixedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Hostname() == "localhost" && req.URL.Path == "/stub" {
		return m.stub.RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestFetchMetadataPlainHTTPRedirectChain(t *testing.T) {
	okta := mdReadFixture(t, "okta.xml")
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(okta) }))
	t.Cleanup(target.Close)

	t.Run("a plain http redirect that came from off the machine is not followed", func(t *testing.T) {
		redir := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
		})
		elsewhere := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 80}
		tr := target.Client().Transport.(*http.Transport).Clone()
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return mdOtherPeer{Conn: c, remote: elsewhere}, nil
		}
		_, err := FetchMetadata(context.Background(), &http.Client{Transport: tr}, redir.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "the connection went to 192.0.2.10:80, not a loopback address")
	})

	t.Run("a loopback connection does not vouch for a later unreported one", func(t *testing.T) {
		redir := mdServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://localhost/stub", http.StatusFound)
		})
		var calls atomic.Int32
		client := &http.Client{Transport: mdMixedTransport{stub: mdStubTransport{body: okta, calls: &calls}}}
		_, err := FetchMetadata(context.Background(), client, redir.URL)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "does not report which address it connected to")
		assert.Equal(t, int32(1), calls.Load())
	})
}

func TestMetadataLoopbackHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"LocalHost", true}, {"127.0.0.1", true}, {"127.8.9.10", true},
		{"::1", true}, {"::ffff:127.0.0.1", true},
		{"localhost.", false}, {"idp.localhost", false}, {"localhost.example.com", false},
		{"0.0.0.0", false}, {"::", false}, {"10.0.0.1", false}, {"128.0.0.1", false}, {"127.1", false},
		{"l\u043ecalhost", false}, // Cyrillic o
		{"", false},
	} {
		t.Run(tc.host, func(t *testing.T) { assert.Equal(t, tc.want, mdLoopbackHost(tc.host)) })
	}
}
