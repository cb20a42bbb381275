package otelsaml2sp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/otelsaml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// What the test IdP says about the user: none of it may reach a span or a
// metric.
const (
	userEmail   = "zebulon.otel@example.org"
	userSecret  = "attribute-value-7c1e"
	assertionID = "_assertion-otel-4b9d2f"
)

// env is a real SP, its handler wrapped in an Observer's Middleware, and
// the SDK's in-memory span recorder and manual metric reader behind it.
type env struct {
	t       testing.TB
	idp     *saml2sptest.IdP
	ep      saml2sp.Endpoints
	handler http.Handler
	spans   *tracetest.SpanRecorder
	reader  *sdkmetric.ManualReader
	// replayDown makes the replay cache fail as in an outage.
	replayDown atomic.Bool
	// logs holds the SP's log.
	logs bytes.Buffer
}

// newEnv builds the env. A login started with the header X-Test-Break
// makes the app's LoginBinding hook return too long a value, which the SP
// refuses as a configuration error (500).
func newEnv(t testing.TB, opts ...otelsaml2sp.Option) *env {
	t.Helper()
	e := &env{t: t, spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	var err error
	e.idp, err = saml2sptest.NewIdP("https://idp.example.com/")
	require.NoError(t, err)
	e.ep, err = saml2sp.EndpointsAt("https://sp.example.com/saml/")
	require.NoError(t, err)
	obs := newObserver(t, e.spans, e.reader, opts...)
	cfg := saml2sp.Config{
		IdP:         e.idp.IdentityProvider(),
		Logger:      slog.New(slog.NewTextHandler(&e.logs, nil)),
		ReplayCache: &flakyReplayCache{next: saml2sp.NewMemoryReplayCache(0, nil), down: &e.replayDown},
		OnEvent:     obs.OnEvent,
	}
	e.ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	e.handler = obs.Middleware(sp.Handler(testHooks()))
	return e
}

// newObserver returns an Observer on SDK providers feeding spans and
// reader.
func newObserver(t testing.TB, spans sdktrace.SpanProcessor, reader sdkmetric.Reader, opts ...otelsaml2sp.Option) *otelsaml2sp.Observer {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := otelsaml2sp.New(append([]otelsaml2sp.Option{otelsaml2sp.WithTracerProvider(tp), otelsaml2sp.WithMeterProvider(mp)}, opts...)...)
	require.NoError(t, err)
	return obs
}

// testHooks are an app's: a login redirects to its return path.
func testHooks() saml2sp.Hooks {
	return saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
		CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
		LoginBinding: func(r *http.Request) string {
			if r.Header.Get("X-Test-Break") != "" {
				return strings.Repeat("x", 65)
			}
			return ""
		},
	}
}

// flakyReplayCache fails with saml2sp.ErrUnavailable while down is set.
type flakyReplayCache struct {
	next saml2sp.ReplayCache
	down *atomic.Bool
}

func (c *flakyReplayCache) CheckAndStore(ctx context.Context, id string, expires time.Time) error {
	if c.down.Load() {
		return fmt.Errorf("%w: the test's store is down", saml2sp.ErrUnavailable)
	}
	return c.next.CheckAndStore(ctx, id, expires)
}

// do sends a request through the handler.
func (e *env) do(method, target string, form url.Values, header http.Header, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		r.Header[k] = v
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

var requestID = regexp.MustCompile(` ID="([^"]+)"`)

// startLogin runs the login endpoint and returns the AuthnRequest's ID, the
// RelayState and the state cookie.
func (e *env) startLogin() (id, relayState string, cookie *http.Cookie) {
	e.t.Helper()
	w := e.do(http.MethodGet, e.ep.LoginURL+"?return_to=/home", nil, nil)
	require.Equal(e.t, http.StatusFound, w.Code, w.Body.String())
	loc, err := url.Parse(w.Header().Get("Location"))
	require.NoError(e.t, err)
	deflated, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	require.NoError(e.t, err)
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	require.NoError(e.t, err)
	m := requestID.FindSubmatch(xml)
	require.NotNil(e.t, m, "%s", xml)
	cookies := w.Result().Cookies()
	require.Len(e.t, cookies, 1)
	return string(m[1]), loc.Query().Get("RelayState"), cookies[0]
}

// response returns the form of a Response from idp to the request id,
// about the test user (NameID and attributes that must stay private).
func (e *env) response(idp *saml2sptest.IdP, id, relayState string) url.Values {
	e.t.Helper()
	v, err := idp.Response(saml2sptest.Response{
		Destination: e.ep.ACSURL, Audience: e.ep.EntityID, InResponseTo: id,
		NameID: userEmail, AssertionID: assertionID + "-" + id,
		Attributes: []saml2sp.Attribute{
			{Name: "mail", Values: []string{userEmail}},
			{Name: "secret", Values: []string{userSecret}},
		},
	})
	require.NoError(e.t, err)
	return url.Values{"SAMLResponse": {v}, "RelayState": {relayState}}
}

// login runs a login start and posts idp's Response to it.
func (e *env) login(idp *saml2sptest.IdP) *httptest.ResponseRecorder {
	id, relayState, cookie := e.startLogin()
	return e.do(http.MethodPost, e.ep.ACSURL, e.response(idp, id, relayState), nil, cookie)
}

// attrMap returns attrs as a map of strings.
func attrMap(attrs []attribute.KeyValue) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[string(a.Key)] = a.Value.String()
	}
	return m
}

// metrics collects the reader's data: for each metric, the value of each
// data point (the counter's sum, the histogram's count) by its attributes
// (see attrKey).
func metrics(t testing.TB, reader sdkmetric.Reader) map[string]map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, otelsaml2sp.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			points := map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				require.True(t, d.IsMonotonic, m.Name)
				for _, p := range d.DataPoints {
					points[attrKey(p.Attributes.ToSlice())] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					points[attrKey(p.Attributes.ToSlice())] = int64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = points
		}
	}
	return out
}

// attrKey is "key=value,..." sorted by key, without the "saml2sp."
// prefixes.
func attrKey(attrs []attribute.KeyValue) string {
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		parts = append(parts, strings.TrimPrefix(string(a.Key), "saml2sp.")+"="+a.Value.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func itoa(i int) string { return strconv.Itoa(i) }

// discard is a logger for SPs whose log no test reads.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
