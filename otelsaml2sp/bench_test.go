package otelsaml2sp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/otelsaml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// discardProcessor ends spans into nothing: the SDK's own cost, without
// an exporter's.
type discardProcessor struct{}

func (discardProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardProcessor) Shutdown(context.Context) error                  { return nil }
func (discardProcessor) ForceFlush(context.Context) error                { return nil }

// BenchmarkObserver is the cost of the Observer on one request: an ACS
// POST of a signed Response that is refused (unsolicited, so the replay
// cache stays out of it) and a metadata GET (a cheap handler, where the
// overhead shows most). "bare" has no OnEvent (the core's
// BenchmarkACSEvents shows that unset, it costs nothing); "observer" has
// the Middleware and OnEvent on the SDK, every span sampled; "unsampled"
// samples none; "metrics only" has OnEvent without the Middleware.
func BenchmarkObserver(b *testing.B) {
	idp, err := saml2sptest.NewIdP("https://idp.example.com/")
	require.NoError(b, err)
	ep, err := saml2sp.EndpointsAt("https://sp.example.com/saml/")
	require.NoError(b, err)
	response, err := idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID})
	require.NoError(b, err)
	acsBody := url.Values{"SAMLResponse": {response}}.Encode()

	observer := func(sampler sdktrace.Sampler) *otelsaml2sp.Observer {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardProcessor{}), sdktrace.WithSampler(sampler))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		obs, err := otelsaml2sp.New(otelsaml2sp.WithTracerProvider(tp), otelsaml2sp.WithMeterProvider(mp))
		require.NoError(b, err)
		return obs
	}
	setups := []struct {
		name       string
		obs        *otelsaml2sp.Observer
		middleware bool
	}{
		{name: "bare"},
		{name: "observer", obs: observer(sdktrace.AlwaysSample()), middleware: true},
		{name: "unsampled", obs: observer(sdktrace.NeverSample()), middleware: true},
		{name: "metrics only", obs: observer(sdktrace.AlwaysSample())},
	}
	requests := []struct {
		name string
		new  func() *http.Request
	}{
		{name: "acs", new: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(acsBody))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{name: "metadata", new: func() *http.Request { return httptest.NewRequest(http.MethodGet, ep.MetadataURL, nil) }},
	}
	for _, req := range requests {
		for _, s := range setups {
			b.Run(req.name+"/"+s.name, func(b *testing.B) {
				cfg := saml2sp.Config{IdP: idp.IdentityProvider(), Logger: discard()}
				ep.Apply(&cfg)
				if s.obs != nil {
					cfg.OnEvent = s.obs.OnEvent
				}
				sp, err := saml2sp.New(cfg)
				require.NoError(b, err)
				h := sp.Handler(testHooks())
				if s.middleware {
					h = s.obs.Middleware(h)
				}
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(httptest.NewRecorder(), req.new())
				}
			})
		}
	}
}

// BenchmarkOnEvent is OnEvent alone, without HTTP: the metrics, and the
// span's attributes when the context holds a sampled span.
func BenchmarkOnEvent(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardProcessor{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	obs, err := otelsaml2sp.New(otelsaml2sp.WithTracerProvider(tp), otelsaml2sp.WithMeterProvider(mp))
	require.NoError(b, err)
	ev := saml2sp.Event{
		Kind: saml2sp.EventResponse, IdP: "https://idp.example.com/", SP: "https://sp.example.com/saml/metadata",
		Outcome: saml2sp.OutcomeRefused, ErrorClass: "signature", Status: http.StatusForbidden, Duration: 1500 * time.Microsecond,
	}
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.OnEvent(context.Background(), ev)
		}
	})
	b.Run("metrics and span", func(b *testing.B) {
		tracer := tp.Tracer("bench")
		b.ReportAllocs()
		for b.Loop() {
			ctx, span := tracer.Start(context.Background(), "x")
			obs.OnEvent(ctx, ev)
			span.End()
		}
	})
}
