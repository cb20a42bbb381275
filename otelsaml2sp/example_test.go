package otelsaml2sp_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/otelsaml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// An SP observed by an Observer: a span per request to its endpoints,
// here exported to memory, and the metrics, read by a manual reader. A
// real app gives New its own providers (OTLP exporters, say) or sets the
// global ones.
func Example() {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := otelsaml2sp.New(otelsaml2sp.WithTracerProvider(tp), otelsaml2sp.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}

	idp, err := saml2sptest.NewIdP("https://idp.example.com")
	if err != nil {
		log.Fatal(err)
	}
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	if err != nil {
		log.Fatal(err)
	}
	cfg := saml2sp.Config{
		IdP:               idp.IdentityProvider(),
		AllowIdPInitiated: true,
		OnEvent:           obs.OnEvent, // the metrics, and the span's name and attributes
		Logger:            slog.New(slog.DiscardHandler),
	}
	ep.Apply(&cfg)
	cfg.SLOURL, cfg.LogoutURL = "", "" // logins only: no logout hooks needed
	sp, err := saml2sp.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	handler := obs.Middleware(sp.Handler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
	}))

	// A login start, then a Response the IdP sent on its own, twice.
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, ep.LoginURL, nil))
	response, err := idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		r := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {response}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		handler.ServeHTTP(httptest.NewRecorder(), r)
	}

	for _, s := range exporter.GetSpans() {
		line := s.Name
		for _, a := range s.Attributes {
			switch a.Key {
			case otelsaml2sp.OutcomeKey, otelsaml2sp.ErrorClassKey, "http.response.status_code":
				line += fmt.Sprintf(" %s=%s", a.Key, a.Value.String())
			}
		}
		fmt.Printf("%s status=%s\n", line, s.Status.Code)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == otelsaml2sp.MessagesMetric {
			var total int64
			for _, p := range sum.DataPoints {
				total += p.Value
			}
			fmt.Printf("%s: %d in %d series\n", m.Name, total, len(sum.DataPoints))
		}
	}
	// Output:
	// saml2sp login_start saml2sp.outcome=ok http.response.status_code=302 status=Unset
	// saml2sp response saml2sp.outcome=ok http.response.status_code=303 status=Unset
	// saml2sp response saml2sp.outcome=refused http.response.status_code=403 saml2sp.error_class=replay status=Unset
	// saml2sp.messages: 3 in 3 series
}
