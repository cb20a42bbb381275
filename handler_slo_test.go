package saml2sp_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// decodeRedirect splits a Redirect-binding Location into its endpoint and
// decoded message, and returns the message's root element.
func decodeRedirect(t *testing.T, location string) (string, *redirect.Message, *etree.Element) {
	t.Helper()
	u, err := url.Parse(location)
	require.NoError(t, err)
	msg, err := redirect.Decode(u.RawQuery, 0)
	require.NoError(t, err)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(msg.XML))
	return u.Scheme + "://" + u.Host + u.Path, msg, doc.Root()
}

func statusOf(root *etree.Element) string {
	return findTag(root, "StatusCode").SelectAttrValue("Value", "")
}

func TestIdPInitiatedLogout(t *testing.T) {
	newApp := func(t *testing.T) *webApp { return newWebApp(t, "https://sp.example.com/saml/") }
	logoutURL := func(t *testing.T, app *webApp, l saml2sptest.LogoutRequest) string {
		l.Destination = app.ep.SLOURL
		u, err := app.idp.LogoutRequestURL(l)
		require.NoError(t, err)
		return u
	}

	t.Run("Redirect binding ends the session and answers Success", func(t *testing.T) {
		app := newApp(t)
		w := app.do(http.MethodGet, logoutURL(t, app, saml2sptest.LogoutRequest{ID: "_lr1", SessionIndex: "_s1", RelayState: "idp-state"}), nil)
		require.Equal(t, http.StatusFound, w.Code, w.Body.String())
		require.Len(t, app.logouts, 1)
		assert.Equal(t, saml2sp.InitiatorIdP, app.logouts[0].Initiator)
		assert.Equal(t, "alice@example.com", app.logouts[0].NameID)
		assert.Equal(t, []string{"_s1"}, app.logouts[0].SessionIndexes)
		assert.Equal(t, testIdPEntityID, app.logouts[0].IdP)

		dest, msg, root := decodeRedirect(t, w.Header().Get("Location"))
		assert.Equal(t, app.idp.SLOURL, dest)
		assert.Equal(t, "LogoutResponse", root.Tag)
		assert.Equal(t, "_lr1", root.SelectAttrValue("InResponseTo", ""))
		assert.Equal(t, "urn:oasis:names:tc:SAML:2.0:status:Success", statusOf(root))
		assert.Equal(t, "idp-state", msg.RelayState)
	})

	t.Run("POST binding", func(t *testing.T) {
		app := newApp(t)
		form, err := app.idp.LogoutRequestForm(saml2sptest.LogoutRequest{Destination: app.ep.SLOURL, SessionIndex: "_s1"})
		require.NoError(t, err)
		w := app.do(http.MethodPost, app.ep.SLOURL, form)
		require.Len(t, app.logouts, 1)
		// Answered on the binding it came by: an auto-submitting form.
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `action="`+app.idp.SLOURL+`"`)
		assert.Contains(t, w.Body.String(), `name="SAMLResponse"`)
	})

	t.Run("a failing hook answers Responder", func(t *testing.T) {
		app := newApp(t)
		app.logoutErr = errors.New("session store down")
		w := app.do(http.MethodGet, logoutURL(t, app, saml2sptest.LogoutRequest{}), nil)
		require.Equal(t, http.StatusFound, w.Code)
		_, _, root := decodeRedirect(t, w.Header().Get("Location"))
		assert.Equal(t, "urn:oasis:names:tc:SAML:2.0:status:Responder", statusOf(root))
	})

	rejections := []struct {
		name string
		req  saml2sptest.LogoutRequest
		want error
	}{
		{"unsigned", saml2sptest.LogoutRequest{Unsigned: true}, saml2sp.ErrSignature},
		{"wrong issuer", saml2sptest.LogoutRequest{Issuer: "https://other-idp.example/"}, saml2sp.ErrIssuer},
		{"SHA-1 signature", saml2sptest.LogoutRequest{SignatureAlgorithm: "rsa-sha1"}, saml2sp.ErrSignature},
	}
	for _, tc := range rejections {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			app := newApp(t)
			w := app.do(http.MethodGet, logoutURL(t, app, tc.req), nil)
			assert.GreaterOrEqual(t, w.Code, 400)
			assert.Empty(t, app.logouts, "no session is touched by a rejected request")
			require.Len(t, app.failures, 1)
			assert.ErrorIs(t, app.failures[0].Err, tc.want)
		})
	}

	t.Run("rejects a replay", func(t *testing.T) {
		app := newApp(t)
		u := logoutURL(t, app, saml2sptest.LogoutRequest{})
		require.Equal(t, http.StatusFound, app.do(http.MethodGet, u, nil).Code)
		w := app.do(http.MethodGet, u, nil)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Len(t, app.logouts, 1)
		assert.ErrorIs(t, app.failures[0].Err, saml2sp.ErrReplay)
	})

	t.Run("rejects a wrong destination", func(t *testing.T) {
		app := newApp(t)
		u, err := app.idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: "https://other.example/sls"})
		require.NoError(t, err)
		parsed, _ := url.Parse(u)
		w := app.do(http.MethodGet, app.ep.SLOURL+"?"+parsed.RawQuery, nil)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Empty(t, app.logouts)
	})

	t.Run("neither message", func(t *testing.T) {
		app := newApp(t)
		assert.Equal(t, http.StatusBadRequest, app.do(http.MethodGet, app.ep.SLOURL+"?x=1", nil).Code)
		assert.Equal(t, http.StatusMethodNotAllowed, app.do(http.MethodPut, app.ep.SLOURL, nil).Code)
	})
}

func TestSPInitiatedLogout(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	app.subject = &saml2sp.LogoutSubject{NameID: "alice@example.com", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", SessionIndex: "_s1"}

	w := app.do(http.MethodGet, app.ep.LogoutURL+"?return_to=/bye", nil)
	require.Equal(t, http.StatusFound, w.Code, w.Body.String())
	require.Len(t, app.logouts, 1, "the local session ends before the browser leaves")
	assert.Equal(t, saml2sp.InitiatorSP, app.logouts[0].Initiator)
	assert.Equal(t, []string{"_s1"}, app.logouts[0].SessionIndexes)

	dest, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	assert.Equal(t, app.idp.SLOURL, dest)
	assert.Equal(t, "LogoutRequest", root.Tag)
	assert.Equal(t, "alice@example.com", findTag(root, "NameID").Text())
	assert.Equal(t, "_s1", findTag(root, "SessionIndex").Text())
	requestID := root.SelectAttrValue("ID", "")
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	assert.Equal(t, "__Host-saml2sp-"+msg.RelayState, cookies[0].Name)
	assert.Equal(t, "/", cookies[0].Path)

	answer := func(inResponseTo string, status string) string {
		u, err := app.idp.LogoutResponseURL(saml2sptest.LogoutResponse{
			Destination: app.ep.SLOURL, InResponseTo: inResponseTo, RelayState: msg.RelayState, StatusCode: status,
		})
		require.NoError(t, err)
		return u
	}
	t.Run("a LogoutResponse to another request fails", func(t *testing.T) {
		w := app.do(http.MethodGet, answer("_other", ""), nil, cookies[0])
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.ErrorIs(t, app.failures[len(app.failures)-1].Err, saml2sp.ErrInResponseTo)
	})
	t.Run("a failed logout at the IdP is reported", func(t *testing.T) {
		w := app.do(http.MethodGet, answer(requestID, "urn:oasis:names:tc:SAML:2.0:status:Responder"), nil, cookies[0])
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.ErrorIs(t, app.failures[len(app.failures)-1].Err, saml2sp.ErrStatus)
	})
	t.Run("the right LogoutResponse returns the user", func(t *testing.T) {
		w := app.do(http.MethodGet, answer(requestID, ""), nil, cookies[0])
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/bye", w.Header().Get("Location"))
	})
	t.Run("without a session it only redirects", func(t *testing.T) {
		app := newWebApp(t, "https://sp.example.com/saml/")
		w := app.do(http.MethodGet, app.ep.LogoutURL, nil)
		assert.Equal(t, http.StatusSeeOther, w.Code)
		assert.Equal(t, "/", w.Header().Get("Location"))
		assert.Empty(t, app.logouts)
	})
}
