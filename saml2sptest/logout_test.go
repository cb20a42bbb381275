package saml2sptest

import (
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/redirect"
)

const testSLO = "https://app.example.com/saml/sls"

// logoutMessage is a logout message taken apart again.
type logoutMessage struct {
	root       *etree.Element
	relayState string
	msg        *redirect.Message // HTTP-Redirect only
}

func fromURL(t *testing.T, rawURL, param string) logoutMessage {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	m, err := redirect.Decode(u.RawQuery, 0)
	require.NoError(t, err)
	require.Equal(t, param, m.Param)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(m.XML))
	return logoutMessage{root: doc.Root(), relayState: m.RelayState, msg: m}
}

func fromForm(t *testing.T, form url.Values, param string) logoutMessage {
	t.Helper()
	require.Len(t, form[param], 1)
	b, err := base64.StdEncoding.DecodeString(form.Get(param))
	require.NoError(t, err)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(b))
	return logoutMessage{root: doc.Root(), relayState: form.Get("RelayState")}
}

// signed reports whether m is signed, checking that a signature present
// verifies with cert.
func (m logoutMessage) signed(t *testing.T, cert *x509.Certificate) bool {
	t.Helper()
	if m.msg != nil {
		assert.Nil(t, m.root.SelectElement("Signature"), "no XML signature in the Redirect binding")
		if m.msg.Signed() {
			assert.NoError(t, m.msg.Verify([]*x509.Certificate{cert}, true))
		}
		return m.msg.Signed()
	}
	sig := m.root.SelectElement("Signature")
	if sig != nil {
		assert.Equal(t, 1, sig.Index(), "Signature right after the Issuer")
		_, err := verify(m.root, cert)
		assert.NoError(t, err)
	}
	return sig != nil
}

func TestLogoutRequest(t *testing.T) {
	idp := newTestIdP(t)
	ecIdP := newECDSAIdP(t)
	type build func(t *testing.T, idp *IdP, l LogoutRequest) (logoutMessage, error)
	viaURL := func(t *testing.T, idp *IdP, l LogoutRequest) (logoutMessage, error) {
		u, err := idp.LogoutRequestURL(l)
		if err != nil {
			return logoutMessage{}, err
		}
		require.True(t, strings.HasPrefix(u, l.Destination+"?"), u)
		return fromURL(t, u, "SAMLRequest"), nil
	}
	viaForm := func(t *testing.T, idp *IdP, l LogoutRequest) (logoutMessage, error) {
		f, err := idp.LogoutRequestForm(l)
		if err != nil {
			return logoutMessage{}, err
		}
		return fromForm(t, f, "SAMLRequest"), nil
	}
	issued := testNow.Add(-time.Minute)
	cases := []struct {
		name       string
		idp        *IdP
		req        LogoutRequest
		wantSigned bool
		wantSigAlg string // Redirect only
		check      func(t *testing.T, root *etree.Element)
	}{
		{
			name: "defaults", idp: idp, req: LogoutRequest{Destination: testSLO}, wantSigned: true,
			wantSigAlg: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
			check: func(t *testing.T, root *etree.Element) {
				assert.Regexp(t, `^_[0-9a-f]{32}$`, root.SelectAttrValue("ID", ""))
				assert.Equal(t, "2024-05-06T07:08:09Z", root.SelectAttrValue("IssueInstant", ""))
				assert.Equal(t, "2024-05-06T07:13:09Z", root.SelectAttrValue("NotOnOrAfter", ""))
				assert.Equal(t, testIdPID, root.SelectElement("Issuer").Text())
				n := root.SelectElement("NameID")
				assert.Equal(t, "alice@example.com", n.Text())
				assert.Equal(t, nameIDFormatEmail, n.SelectAttrValue("Format", ""))
				assert.Nil(t, root.SelectElement("SessionIndex"))
			},
		},
		{
			name: "overrides", idp: idp, wantSigned: true, wantSigAlg: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
			req: LogoutRequest{Destination: testSLO, NameID: "bob", NameIDFormat: nameIDFormatPersistent, SessionIndex: "_s1",
				RelayState: "rs", ID: "_id-1", Issuer: "https://other", IssueInstant: issued, NotOnOrAfter: issued.Add(time.Hour)},
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, "_id-1", root.SelectAttrValue("ID", ""))
				assert.Equal(t, "2024-05-06T07:07:09Z", root.SelectAttrValue("IssueInstant", ""))
				assert.Equal(t, "2024-05-06T08:07:09Z", root.SelectAttrValue("NotOnOrAfter", ""))
				assert.Equal(t, "https://other", root.SelectElement("Issuer").Text())
				assert.Equal(t, "bob", root.SelectElement("NameID").Text())
				assert.Equal(t, nameIDFormatPersistent, root.SelectElement("NameID").SelectAttrValue("Format", ""))
				assert.Equal(t, "_s1", root.SelectElement("SessionIndex").Text())
			},
		},
		{name: "unsigned", idp: idp, req: LogoutRequest{Destination: testSLO, Unsigned: true}},
		{name: "SHA-1 on request", idp: idp, wantSigned: true, req: LogoutRequest{Destination: testSLO, SignatureAlgorithm: "rsa-sha1"},
			wantSigAlg: "http://www.w3.org/2000/09/xmldsig#rsa-sha1"},
		{name: "rsa-sha512", idp: idp, wantSigned: true, req: LogoutRequest{Destination: testSLO, SignatureAlgorithm: "rsa-sha512"},
			wantSigAlg: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"},
		{name: "ECDSA", idp: ecIdP, wantSigned: true, req: LogoutRequest{Destination: testSLO},
			wantSigAlg: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"},
	}
	for _, tc := range cases {
		for name, via := range map[string]build{"Redirect": viaURL, "POST": viaForm} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				m, err := via(t, tc.idp, tc.req)
				require.NoError(t, err)
				root := m.root
				assert.Equal(t, "LogoutRequest", root.Tag)
				assert.Equal(t, nsProtocol, root.NamespaceURI())
				assert.Equal(t, "2.0", root.SelectAttrValue("Version", ""))
				assert.Equal(t, testSLO, root.SelectAttrValue("Destination", ""))
				assert.Equal(t, tc.req.RelayState, m.relayState)
				assert.Equal(t, tc.wantSigned, m.signed(t, tc.idp.Certificate))
				if m.msg != nil && tc.wantSigned {
					assert.Equal(t, tc.wantSigAlg, m.msg.SigAlg)
				}
				if tc.check != nil {
					tc.check(t, root)
				}
			})
		}
	}
}

func TestLogoutResponse(t *testing.T) {
	idp := newTestIdP(t)
	responder := "urn:oasis:names:tc:SAML:2.0:status:Responder"
	cases := []struct {
		name       string
		resp       LogoutResponse
		wantStatus string
		wantSigned bool
	}{
		{name: "defaults", resp: LogoutResponse{Destination: testSLO, InResponseTo: "_r1"}, wantStatus: statusSuccess, wantSigned: true},
		{name: "Responder, RelayState", resp: LogoutResponse{Destination: testSLO, InResponseTo: "_r1", StatusCode: responder,
			RelayState: "rs", ID: "_x", Issuer: "https://other", IssueInstant: testNow.Add(time.Minute)}, wantStatus: responder, wantSigned: true},
		{name: "no InResponseTo, unsigned", resp: LogoutResponse{Destination: testSLO, Unsigned: true}, wantStatus: statusSuccess},
	}
	for _, tc := range cases {
		u, err := idp.LogoutResponseURL(tc.resp)
		require.NoError(t, err)
		f, err := idp.LogoutResponseForm(tc.resp)
		require.NoError(t, err)
		for name, m := range map[string]logoutMessage{"Redirect": fromURL(t, u, "SAMLResponse"), "POST": fromForm(t, f, "SAMLResponse")} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				root := m.root
				assert.Equal(t, "LogoutResponse", root.Tag)
				assert.Equal(t, testSLO, root.SelectAttrValue("Destination", ""))
				assert.Equal(t, tc.resp.InResponseTo, root.SelectAttrValue("InResponseTo", ""))
				assert.Equal(t, tc.resp.InResponseTo != "", root.SelectAttr("InResponseTo") != nil)
				assert.Equal(t, tc.wantStatus, root.FindElement("./Status/StatusCode").SelectAttrValue("Value", ""))
				assert.Equal(t, tc.resp.RelayState, m.relayState)
				assert.Equal(t, tc.wantSigned, m.signed(t, idp.Certificate))
				if tc.resp.ID != "" {
					assert.Equal(t, tc.resp.ID, root.SelectAttrValue("ID", ""))
					assert.Equal(t, tc.resp.Issuer, root.SelectElement("Issuer").Text())
					assert.Equal(t, "2024-05-06T07:09:09Z", root.SelectAttrValue("IssueInstant", ""))
				} else {
					assert.Equal(t, testIdPID, root.SelectElement("Issuer").Text())
					assert.Equal(t, "2024-05-06T07:08:09Z", root.SelectAttrValue("IssueInstant", ""))
				}
			})
		}
	}
}

func TestLogoutErrors(t *testing.T) {
	idp := newTestIdP(t)
	_, err := idp.LogoutRequestURL(LogoutRequest{})
	assert.ErrorContains(t, err, "Destination")
	_, err = idp.LogoutRequestForm(LogoutRequest{})
	assert.ErrorContains(t, err, "Destination")
	_, err = idp.LogoutResponseURL(LogoutResponse{})
	assert.ErrorContains(t, err, "Destination")
	_, err = idp.LogoutResponseForm(LogoutResponse{})
	assert.ErrorContains(t, err, "Destination")
	_, err = idp.LogoutRequestURL(LogoutRequest{Destination: testSLO, SignatureAlgorithm: "hmac-sha1"})
	assert.Error(t, err)
	_, err = idp.LogoutRequestURL(LogoutRequest{Destination: testSLO, SignatureAlgorithm: "ecdsa-sha1"})
	assert.Error(t, err, "ECDSA algorithm with an RSA key")
	_, err = idp.LogoutRequestURL(LogoutRequest{Destination: testSLO, RelayState: strings.Repeat("r", 81)})
	assert.Error(t, err, "RelayState over 80 bytes")

	noKey := newTestIdP(t)
	noKey.Key = nil
	_, err = noKey.LogoutRequestURL(LogoutRequest{Destination: testSLO})
	assert.Error(t, err)
	_, err = noKey.LogoutRequestForm(LogoutRequest{Destination: testSLO})
	assert.Error(t, err)
	_, err = noKey.LogoutRequestURL(LogoutRequest{Destination: testSLO, Unsigned: true})
	assert.NoError(t, err, "unsigned messages need no key")
}

func TestLogoutRequestURLKeepsDestinationQuery(t *testing.T) {
	idp := newTestIdP(t)
	u, err := idp.LogoutRequestURL(LogoutRequest{Destination: testSLO + "?tenant=a", RelayState: "rs"})
	require.NoError(t, err)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, "a", parsed.Query().Get("tenant"))
	assert.Equal(t, "rs", parsed.Query().Get("RelayState"))
}
