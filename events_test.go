package saml2sp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// eventLog collects the events an SP emits.
type eventLog struct {
	mu     sync.Mutex
	events []saml2sp.Event
}

func (l *eventLog) on(_ context.Context, e saml2sp.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) take() []saml2sp.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

func TestEvents(t *testing.T) {
	var log eventLog
	app := newWebApp(t, "https://sp.example.com/saml/", func(c *saml2sp.Config) { c.OnEvent = log.on })

	// A login: its start and its Response.
	id, handle, cookie := app.startLogin("/x")
	form := app.responseForm(id, handle)
	require.Equal(t, http.StatusSeeOther, app.do(http.MethodPost, app.ep.ACSURL, form, cookie).Code)
	events := log.take()
	require.Len(t, events, 2)
	assert.Equal(t, saml2sp.EventLoginStart, events[0].Kind)
	assert.Equal(t, saml2sp.OutcomeOK, events[0].Outcome)
	assert.Equal(t, http.StatusFound, events[0].Status)
	ev := events[1]
	assert.Equal(t, saml2sp.EventResponse, ev.Kind)
	assert.Equal(t, saml2sp.OutcomeOK, ev.Outcome)
	assert.Equal(t, "", ev.ErrorClass)
	assert.Equal(t, testIdPEntityID, ev.IdP)
	assert.Equal(t, app.ep.EntityID, ev.SP)
	assert.Positive(t, ev.Duration)

	// The same Response again: refused, class replay.
	app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
	events = log.take()
	require.Len(t, events, 1)
	assert.Equal(t, saml2sp.OutcomeRefused, events[0].Outcome)
	assert.Equal(t, "replay", events[0].ErrorClass)
	assert.Equal(t, http.StatusForbidden, events[0].Status)

	// The IdP's logout.
	u, err := app.idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: app.ep.SLOURL})
	require.NoError(t, err)
	app.do(http.MethodGet, u, nil)
	events = log.take()
	require.Len(t, events, 1)
	assert.Equal(t, saml2sp.EventLogoutRequest, events[0].Kind)
	assert.Equal(t, saml2sp.OutcomeOK, events[0].Outcome)

	// Metadata.
	app.do(http.MethodGet, app.ep.MetadataURL, nil)
	events = log.take()
	require.Len(t, events, 1)
	assert.Equal(t, saml2sp.EventMetadata, events[0].Kind)

	// Garbage: malformed.
	app.do(http.MethodPost, app.ep.ACSURL, url.Values{"SAMLResponse": {"%%%"}})
	events = log.take()
	require.Len(t, events, 1)
	assert.Equal(t, "malformed", events[0].ErrorClass)
	assert.Equal(t, saml2sp.OutcomeRefused, events[0].Outcome)
}

// TestEventsOfTenants: the event names the tenant.
func TestEventsOfTenants(t *testing.T) {
	var log eventLog
	ts := newPerRequestTenants(t, func(c *saml2sp.Config) { c.OnEvent = log.on }, nil)
	ep, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
	ts.serve(httptest.NewRequest(http.MethodGet, ep.MetadataURL, nil))
	events := log.take()
	require.Len(t, events, 1)
	assert.Equal(t, "acme", events[0].Tenant)
}

func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{saml2sp.ErrSignature, "signature"},
		{fmt.Errorf("wrapped: %w", saml2sp.ErrReplay), "replay"},
		{&saml2sp.StatusError{Codes: []string{"urn:oasis:names:tc:SAML:2.0:status:Responder"}}, "idp_status"},
		{saml2sp.ErrUnavailable, "unavailable"},
		{errors.New("the app's hook failed"), "other"},
	} {
		assert.Equal(t, tc.want, saml2sp.ErrorClass(tc.err), "%v", tc.err)
	}
	// A decryption error is also malformed; the more precise class wins.
	e := newTestEnv(t, encWithKey)
	_, cert := encKey(1)
	_, err := e.parse(e.mint(e.response(encFor(cert, saml2sptest.Encryption{}))))
	assert.Equal(t, "decryption", saml2sp.ErrorClass(err))
}

// BenchmarkACSEvents is one ACS POST (refused, to keep the replay cache out
// of it) without OnEvent and with a no-op one: unset, the hook adds
// nothing to the request path (the handler is not even wrapped).
func BenchmarkACSEvents(b *testing.B) {
	for _, tc := range []struct {
		name    string
		onEvent func(context.Context, saml2sp.Event)
	}{
		{"unset", nil},
		{"set", func(context.Context, saml2sp.Event) {}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newTestEnv(b, func(c *saml2sp.Config) { c.OnEvent = tc.onEvent })
			h := e.sp.ACSHandler(saml2sp.Hooks{OnLogin: func(http.ResponseWriter, *http.Request, *saml2sp.Login) error { return nil }})
			body := url.Values{"SAMLResponse": {e.mint(e.response())}}.Encode()
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, testACSURL, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
