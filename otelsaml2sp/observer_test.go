package otelsaml2sp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/otelsaml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestObserver drives a real SP through the Middleware and OnEvent: each
// step's last span has the event's name, attributes and status, and the
// metrics count every message by kind, outcome and error class.
func TestObserver(t *testing.T) {
	e := newEnv(t)
	forger, err := saml2sptest.NewIdP(e.idp.EntityID) // same name, another key
	require.NoError(t, err)
	var replayed url.Values
	var replayedCookie *http.Cookie

	tests := []struct {
		name string
		send func() *httptest.ResponseRecorder
		// The last span: name, request method, HTTP status, outcome, error
		// class ("" for none) and status code.
		span    string
		method  string
		status  int
		outcome saml2sp.Outcome
		class   string
		code    codes.Code
	}{
		{
			name: "login start",
			send: func() *httptest.ResponseRecorder { return e.do(http.MethodGet, e.ep.LoginURL, nil, nil) },
			span: "saml2sp login_start", method: http.MethodGet, status: http.StatusFound, outcome: saml2sp.OutcomeOK, code: codes.Unset,
		},
		{
			name: "good response",
			send: func() *httptest.ResponseRecorder {
				id, relayState, cookie := e.startLogin()
				replayed, replayedCookie = e.response(e.idp, id, relayState), cookie
				return e.do(http.MethodPost, e.ep.ACSURL, replayed, nil, cookie)
			},
			span: "saml2sp response", method: http.MethodPost, status: http.StatusSeeOther, outcome: saml2sp.OutcomeOK, code: codes.Unset,
		},
		{
			name: "replayed response: refused, not a server error",
			send: func() *httptest.ResponseRecorder {
				return e.do(http.MethodPost, e.ep.ACSURL, replayed, nil, replayedCookie)
			},
			span: "saml2sp response", method: http.MethodPost, status: http.StatusForbidden, outcome: saml2sp.OutcomeRefused, class: "replay", code: codes.Unset,
		},
		{
			name: "garbage",
			send: func() *httptest.ResponseRecorder {
				return e.do(http.MethodPost, e.ep.ACSURL, url.Values{"SAMLResponse": {"%%% not base64"}}, nil)
			},
			span: "saml2sp response", method: http.MethodPost, status: http.StatusBadRequest, outcome: saml2sp.OutcomeRefused, class: "malformed", code: codes.Unset,
		},
		{
			name: "forged response",
			send: func() *httptest.ResponseRecorder { return e.login(forger) },
			span: "saml2sp response", method: http.MethodPost, status: http.StatusForbidden, outcome: saml2sp.OutcomeRefused, class: "signature", code: codes.Unset,
		},
		{
			name: "IdP LogoutRequest",
			send: func() *httptest.ResponseRecorder {
				u, err := e.idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: e.ep.SLOURL, NameID: userEmail})
				require.NoError(t, err)
				return e.do(http.MethodGet, u, nil, nil)
			},
			span: "saml2sp logout_request", method: http.MethodGet, status: http.StatusFound, outcome: saml2sp.OutcomeOK, code: codes.Unset,
		},
		{
			name: "misconfigured app: error",
			send: func() *httptest.ResponseRecorder {
				return e.do(http.MethodGet, e.ep.LoginURL, nil, http.Header{"X-Test-Break": {"1"}})
			},
			span: "saml2sp login_start", method: http.MethodGet, status: http.StatusInternalServerError, outcome: saml2sp.OutcomeError, class: "config", code: codes.Error,
		},
		{
			name: "store outage: unavailable",
			send: func() *httptest.ResponseRecorder {
				e.replayDown.Store(true)
				defer e.replayDown.Store(false)
				return e.login(e.idp)
			},
			span: "saml2sp response", method: http.MethodPost, status: http.StatusServiceUnavailable, outcome: saml2sp.OutcomeUnavailable, class: "unavailable", code: codes.Error,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.send()
			require.Equal(t, tc.status, w.Code, w.Body.String())
			spans := e.spans.Ended()
			require.NotEmpty(t, spans)
			s := spans[len(spans)-1]
			assert.Equal(t, tc.span, s.Name())
			assert.Equal(t, trace.SpanKindServer, s.SpanKind())
			assert.False(t, s.Parent().IsValid(), "a root span")
			assert.Equal(t, otelsaml2sp.ScopeName, s.InstrumentationScope().Name)
			attrs := attrMap(s.Attributes())
			want := map[string]string{
				"saml2sp.kind":              strings.TrimPrefix(tc.span, "saml2sp "),
				"saml2sp.outcome":           string(tc.outcome),
				"saml2sp.idp":               e.idp.EntityID,
				"saml2sp.sp":                e.ep.EntityID,
				"http.response.status_code": itoa(tc.status),
				"http.request.method":       tc.method,
			}
			if tc.class != "" {
				want["saml2sp.error_class"] = tc.class
			}
			if tc.code == codes.Error {
				want["error.type"] = tc.class
			}
			assert.Equal(t, want, attrs)
			assert.Equal(t, tc.code, s.Status().Code)
			if tc.code == codes.Error {
				assert.Equal(t, tc.class, s.Status().Description, "the class, never the error's text")
			}
		})
	}

	got := metrics(t, e.reader)
	want := map[string]int64{
		"kind=login_start,outcome=ok":                               4, // one alone, three before a Response
		"error_class=config,kind=login_start,outcome=error":         1,
		"kind=response,outcome=ok":                                  1,
		"error_class=replay,kind=response,outcome=refused":          1,
		"error_class=malformed,kind=response,outcome=refused":       1,
		"error_class=signature,kind=response,outcome=refused":       1,
		"error_class=unavailable,kind=response,outcome=unavailable": 1,
		"kind=logout_request,outcome=ok":                            1,
	}
	assert.Equal(t, want, got[otelsaml2sp.MessagesMetric], "counter")
	assert.Equal(t, want, got[otelsaml2sp.DurationMetric], "histogram counts")
	assert.Len(t, e.spans.Ended(), 11, "one span per request")

	assert.Empty(t, leaks(t, e.spans.Ended(), e.reader), "no span or metric carries the message's content")
}

// leaks searches every recorded span (name, attributes, status, events,
// links) and every metric attribute for what the test IdP said about the
// user, for the assertion's ID and for the SAML form fields, and returns
// what it found.
func leaks(t *testing.T, spans []sdktrace.ReadOnlySpan, reader sdkmetric.Reader) []string {
	t.Helper()
	var seen []string
	add := func(attrs []attribute.KeyValue) {
		for _, a := range attrs {
			seen = append(seen, string(a.Key)+"="+a.Value.String())
		}
	}
	for _, s := range spans {
		seen = append(seen, s.Name(), s.Status().Description)
		add(s.Attributes())
		for _, ev := range s.Events() {
			seen = append(seen, ev.Name)
			add(ev.Attributes)
		}
		for _, l := range s.Links() {
			add(l.Attributes)
		}
	}
	for name, points := range metrics(t, reader) {
		seen = append(seen, name)
		for attrs := range points {
			seen = append(seen, attrs)
		}
	}
	require.NotEmpty(t, seen)
	var found []string
	for _, v := range seen {
		for _, secret := range []string{userEmail, "zebulon", userSecret, assertionID, "SAMLRequest", "SAMLResponse"} {
			if strings.Contains(strings.ToLower(v), strings.ToLower(secret)) {
				found = append(found, v)
			}
		}
	}
	return found
}

// TestLeaksFindsLeaks: leaks finds the user's email when an attribute
// does carry it, so its silence in TestObserver means something.
func TestLeaksFindsLeaks(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.SetAttributes(attribute.String("user", "Zebulon.Otel@example.org"))
	s.End()
	reader := sdkmetric.NewManualReader()
	counter, err := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter(otelsaml2sp.ScopeName).Int64Counter("c")
	require.NoError(t, err)
	counter.Add(context.Background(), 1, metric.WithAttributes(attribute.String("secret", userSecret)))
	assert.Equal(t, []string{
		"user=Zebulon.Otel@example.org", "user=Zebulon.Otel@example.org", // the email, and "zebulon"
		"secret=" + userSecret,
	}, leaks(t, spans.Ended(), reader))
}

// TestTenants: spans name the tenant always, metrics only
// WithTenantMetrics; a request no SAML handler took (an unknown tenant, a
// resolver failure) keeps the bare span name, with status Error for a 5xx
// only.
func TestTenants(t *testing.T) {
	const base = "https://app.example.com/sso/"
	tests := []struct {
		name        string
		opts        []otelsaml2sp.Option
		wantMetrics map[string]int64
	}{
		{
			name:        "default: no tenant on metrics",
			wantMetrics: map[string]int64{"kind=metadata,outcome=ok": 1},
		},
		{
			name:        "WithTenantMetrics",
			opts:        []otelsaml2sp.Option{otelsaml2sp.WithTenantMetrics()},
			wantMetrics: map[string]int64{"idp=https://idp.acme.example/,kind=metadata,outcome=ok,tenant=acme": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans, reader := tracetest.NewSpanRecorder(), sdkmetric.NewManualReader()
			obs := newObserver(t, spans, reader, tc.opts...)
			idp, err := saml2sptest.NewIdP("https://idp.acme.example/")
			require.NoError(t, err)
			th := &saml2sp.TenantHandler{
				BaseURL: base,
				Tenants: saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
					switch tenant {
					case "acme":
					case "broken":
						return nil, errors.New("the tenants' database is down")
					default:
						return nil, saml2sp.ErrUnknownTenant
					}
					ep, err := saml2sp.TenantEndpoints(base, tenant)
					if err != nil {
						return nil, err
					}
					cfg := saml2sp.Config{IdP: idp.IdentityProvider(), OnEvent: obs.OnEvent, Logger: discard()}
					ep.Apply(&cfg)
					return saml2sp.New(cfg)
				}),
				Hooks:  testHooks(),
				Logger: discard(),
			}
			h := obs.Middleware(th)
			for _, u := range []string{base + "metadata/acme/", base + "metadata/nobody/", base + "metadata/broken/"} {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, u, nil))
			}
			got := spans.Ended()
			require.Len(t, got, 3)

			assert.Equal(t, "saml2sp metadata", got[0].Name())
			assert.Equal(t, "acme", attrMap(got[0].Attributes())["saml2sp.tenant"])
			assert.Equal(t, codes.Unset, got[0].Status().Code)

			assert.Equal(t, otelsaml2sp.SpanName, got[1].Name(), "unknown tenant: no event")
			assert.Equal(t, map[string]string{"http.request.method": "GET", "http.response.status_code": "404"}, attrMap(got[1].Attributes()))
			assert.Equal(t, codes.Unset, got[1].Status().Code)

			assert.Equal(t, otelsaml2sp.SpanName, got[2].Name(), "resolver failure: no event")
			assert.Equal(t, map[string]string{"http.request.method": "GET", "http.response.status_code": "503", "error.type": "503"}, attrMap(got[2].Attributes()))
			assert.Equal(t, codes.Error, got[2].Status().Code)

			m := metrics(t, reader)
			assert.Equal(t, tc.wantMetrics, m[otelsaml2sp.MessagesMetric])
			assert.Equal(t, tc.wantMetrics, m[otelsaml2sp.DurationMetric])
		})
	}
}

// TestParentSpan: under a span of the app's (otelhttp's, say), the
// Middleware's span is its internal child; without the Middleware, OnEvent
// annotates the app's span and leaves its name alone; with the Middleware
// outside a span of the app's, OnEvent annotates the Middleware's.
func TestParentSpan(t *testing.T) {
	const appSpan = "app span"
	tests := []struct {
		name string
		// wrap puts the SAML handler h in the Middleware and in a handler
		// starting the app's span (appSpan).
		wrap func(obs *otelsaml2sp.Observer, app func(http.Handler) http.Handler, h http.Handler) http.Handler
		// annotated is the span that must carry saml2sp.kind, and
		// parent the span that must be the other's parent.
		annotated, parent string
		kind              trace.SpanKind
	}{
		{
			name: "Middleware inside the app's span",
			wrap: func(obs *otelsaml2sp.Observer, app func(http.Handler) http.Handler, h http.Handler) http.Handler {
				return app(obs.Middleware(h))
			},
			annotated: "saml2sp metadata", parent: appSpan, kind: trace.SpanKindInternal,
		},
		{
			name: "OnEvent alone",
			wrap: func(_ *otelsaml2sp.Observer, app func(http.Handler) http.Handler, h http.Handler) http.Handler {
				return app(h)
			},
			annotated: appSpan,
		},
		{
			name: "the app's span inside the Middleware",
			wrap: func(obs *otelsaml2sp.Observer, app func(http.Handler) http.Handler, h http.Handler) http.Handler {
				return obs.Middleware(app(h))
			},
			annotated: "saml2sp metadata", parent: "saml2sp metadata", kind: trace.SpanKindServer,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spans, reader := tracetest.NewSpanRecorder(), sdkmetric.NewManualReader()
			obs := newObserver(t, spans, reader)
			idp, err := saml2sptest.NewIdP("https://idp.example.com/")
			require.NoError(t, err)
			ep, err := saml2sp.EndpointsAt("https://sp.example.com/saml/")
			require.NoError(t, err)
			cfg := saml2sp.Config{IdP: idp.IdentityProvider(), OnEvent: obs.OnEvent, Logger: discard()}
			ep.Apply(&cfg)
			sp, err := saml2sp.New(cfg)
			require.NoError(t, err)
			appTracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("app")
			app := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ctx, span := appTracer.Start(r.Context(), appSpan, trace.WithSpanKind(trace.SpanKindServer))
					defer span.End()
					next.ServeHTTP(w, r.WithContext(ctx))
				})
			}
			h := tc.wrap(obs, app, sp.Handler(testHooks()))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, ep.MetadataURL, nil))

			byName := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range spans.Ended() {
				byName[s.Name()] = s
			}
			require.Contains(t, byName, appSpan, "the app's span keeps its name")
			for name, s := range byName {
				kind, ok := attrMap(s.Attributes())["saml2sp.kind"]
				if name == tc.annotated {
					assert.Equal(t, "metadata", kind, name)
				} else {
					assert.False(t, ok, "%s is not annotated", name)
				}
			}
			if tc.parent == "" {
				require.Len(t, byName, 1)
				return
			}
			require.Len(t, byName, 2)
			var parent, child sdktrace.ReadOnlySpan
			for name, s := range byName {
				if name == tc.parent {
					parent = s
				} else {
					child = s
				}
			}
			assert.Equal(t, parent.SpanContext().SpanID(), child.Parent().SpanID())
			assert.Equal(t, tc.kind, byName["saml2sp metadata"].SpanKind())
		})
	}
}

// TestTraceHeadersIgnored: a traceparent sent by the client does not make
// the span a child of the client's trace (anyone can send one).
func TestTraceHeadersIgnored(t *testing.T) {
	e := newEnv(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.do(http.MethodGet, e.ep.MetadataURL, nil, http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
	s := e.spans.Ended()[0]
	assert.False(t, s.Parent().IsValid())
	assert.NotEqual(t, traceID, s.SpanContext().TraceID().String())
}

// TestSampledOut: with the span sampled out, metrics still count and the
// SAML handlers still answer.
func TestSampledOut(t *testing.T) {
	spans, reader := tracetest.NewSpanRecorder(), sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithSampler(sdktrace.NeverSample()))
	obs, err := otelsaml2sp.New(otelsaml2sp.WithTracerProvider(tp),
		otelsaml2sp.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	require.NoError(t, err)
	idp, err := saml2sptest.NewIdP("https://idp.example.com/")
	require.NoError(t, err)
	ep, err := saml2sp.EndpointsAt("https://sp.example.com/saml/")
	require.NoError(t, err)
	cfg := saml2sp.Config{IdP: idp.IdentityProvider(), OnEvent: obs.OnEvent, Logger: discard()}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	obs.Middleware(sp.Handler(testHooks())).ServeHTTP(w, httptest.NewRequest(http.MethodGet, ep.MetadataURL, nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, spans.Ended())
	assert.Equal(t, map[string]int64{"kind=metadata,outcome=ok": 1}, metrics(t, reader)[otelsaml2sp.MessagesMetric])
}

// TestMethodAttribute: a method the client made up is "_OTHER" (the
// attribute's values stay few).
func TestMethodAttribute(t *testing.T) {
	tests := []struct {
		name, method, want string
	}{
		{name: "standard", method: http.MethodPost, want: "POST"},
		{name: "made up", method: "FROBNICATE", want: "_OTHER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(tc.method, e.ep.MetadataURL, nil, nil)
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
			attrs := attrMap(e.spans.Ended()[0].Attributes())
			assert.Equal(t, tc.want, attrs["http.request.method"])
			assert.Equal(t, "refused", attrs["saml2sp.outcome"])
		})
	}
}

// TestDefaultProviders: without options, New uses the global providers
// (no-ops unless the app set them) and works.
func TestDefaultProviders(t *testing.T) {
	obs, err := otelsaml2sp.New()
	require.NoError(t, err)
	obs.OnEvent(context.Background(), saml2sp.Event{Kind: saml2sp.EventMetadata, Outcome: saml2sp.OutcomeOK})
	w := httptest.NewRecorder()
	obs.Middleware(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
}

// TestNewFails: New reports a meter provider that cannot create the
// instruments.
func TestNewFails(t *testing.T) {
	tests := []struct {
		name string
		fail string
	}{
		{name: "counter", fail: otelsaml2sp.MessagesMetric},
		{name: "histogram", fail: otelsaml2sp.DurationMetric},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := otelsaml2sp.New(otelsaml2sp.WithMeterProvider(failingMeterProvider{fail: tc.fail}))
			require.ErrorIs(t, err, errInstrument)
			assert.Contains(t, err.Error(), tc.fail)
		})
	}
}

var errInstrument = errors.New("no instrument for you")

// failingMeterProvider fails to create the instrument named fail.
type failingMeterProvider struct {
	noop.MeterProvider
	fail string
}

func (p failingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return failingMeter{fail: p.fail}
}

type failingMeter struct {
	noop.Meter
	fail string
}

func (m failingMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	if name == m.fail {
		return nil, errInstrument
	}
	return noop.Int64Counter{}, nil
}

func (m failingMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	if name == m.fail {
		return nil, errInstrument
	}
	return noop.Float64Histogram{}, nil
}
