package saml2sp_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const (
	arNSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	arNSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	arFormatEmail = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	arFormatPers  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	arMFA         = "https://refeds.org/profile/mfa"
	arPPT         = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	arSchemaDir   = "/usr/share/simplesamlphp/schemas"
)

// arKey returns a fresh SP key of the kind asked for ("rsa" or "ecdsa")
// and its certificate.
func arKey(t testing.TB, kind string) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	var key crypto.Signer
	var err error
	if kind == "ecdsa" {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	require.NoError(t, err)
	cert, err := saml2sptest.NewCertificate(key, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	require.NoError(t, err)
	return key, cert
}

// withSPKey gives the SP a signing key.
func withSPKey(key crypto.Signer, cert *x509.Certificate) func(*saml2sp.Config) {
	return func(c *saml2sp.Config) { c.Key, c.Certificate = key, cert }
}

// withIdP changes the IdP description the SP trusts.
func withIdP(mod func(*saml2sp.IdentityProvider)) func(*saml2sp.Config) {
	return func(c *saml2sp.Config) { mod(c.IdP) }
}

// onlyBinding keeps only the endpoints with binding b in list.
func onlyBinding(list []saml2sp.Endpoint, b string) []saml2sp.Endpoint {
	var out []saml2sp.Endpoint
	for _, ep := range list {
		if ep.Binding == b {
			out = append(out, ep)
		}
	}
	return out
}

// sent is an Outbound message taken apart again.
type sent struct {
	xml        []byte
	root       *etree.Element
	relayState string
	// msg is the decoded HTTP-Redirect message (nil for POST).
	msg *redirect.Message
}

// decodeOutbound undoes the binding of out, checking that it goes to
// destination.
func decodeOutbound(t *testing.T, out *saml2sp.Outbound, param, destination string) *sent {
	t.Helper()
	s := &sent{}
	switch out.Binding {
	case saml2sp.BindingHTTPRedirect:
		require.Nil(t, out.Form)
		u, err := url.Parse(out.URL)
		require.NoError(t, err)
		require.Equal(t, destination, strings.SplitN(out.URL, "?", 2)[0])
		s.msg, err = redirect.Decode(u.RawQuery, 0)
		require.NoError(t, err)
		require.Equal(t, param, s.msg.Param)
		s.xml, s.relayState = s.msg.XML, s.msg.RelayState
	case saml2sp.BindingHTTPPost:
		require.Equal(t, destination, out.URL)
		require.Len(t, out.Form[param], 1)
		var err error
		s.xml, err = base64.StdEncoding.DecodeString(out.Form.Get(param))
		require.NoError(t, err)
		s.relayState = out.Form.Get("RelayState")
	default:
		t.Fatalf("unknown binding %q", out.Binding)
	}
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(s.xml))
	s.root = doc.Root()
	return s
}

// verifyXMLSignature checks the enveloped signature of s with cert, with
// the same code the SP uses for the IdP's messages.
func verifyXMLSignature(t *testing.T, s *sent, cert *x509.Certificate) error {
	t.Helper()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(s.xml))
	root := doc.Root()
	sigEl, err := xmldsig.Find(root)
	if err != nil {
		return err
	}
	require.NotNil(t, sigEl, "no Signature")
	sig, err := xmldsig.Check(sigEl, root.SelectAttrValue("ID", ""), xmldsig.Policy{})
	if err != nil {
		return err
	}
	_, _, err = xmldsig.Verify(root, sig, []*x509.Certificate{cert})
	return err
}

// child returns the only child element of el named {ns}local.
func child(t *testing.T, el *etree.Element, ns, local string) *etree.Element {
	t.Helper()
	var found []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			found = append(found, c)
		}
	}
	require.Len(t, found, 1, "children %s of %s", local, el.Tag)
	return found[0]
}

func hasAttr(el *etree.Element, key string) bool {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return true
		}
	}
	return false
}

var arIDPattern = regexp.MustCompile(`^_[0-9a-f]{40}$`)

func TestNewAuthnRequest(t *testing.T) {
	spKey, spCert := arKey(t, "rsa")
	postOnly := withIdP(func(idp *saml2sp.IdentityProvider) {
		idp.SingleSignOnServices = onlyBinding(idp.SingleSignOnServices, saml2sp.BindingHTTPPost)
	})
	cases := []struct {
		name        string
		mods        []func(*saml2sp.Config)
		opts        *saml2sp.AuthnRequestOptions
		relayState  string
		wantBinding string
		wantSigned  bool
		check       func(t *testing.T, root *etree.Element)
	}{
		{
			name: "defaults: redirect, no options", wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				assert.False(t, hasAttr(root, "ForceAuthn"))
				assert.False(t, hasAttr(root, "IsPassive"))
				policy := child(t, root, arNSProtocol, "NameIDPolicy")
				assert.False(t, hasAttr(policy, "Format"), "no format known")
				assert.Equal(t, "true", policy.SelectAttrValue("AllowCreate", ""))
				assert.Nil(t, root.SelectElement("RequestedAuthnContext"))
			},
		},
		{
			name: "ForceAuthn", opts: &saml2sp.AuthnRequestOptions{ForceAuthn: true}, wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, "true", root.SelectAttrValue("ForceAuthn", ""))
				assert.False(t, hasAttr(root, "IsPassive"))
			},
		},
		{
			name: "IsPassive", opts: &saml2sp.AuthnRequestOptions{IsPassive: true}, wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, "true", root.SelectAttrValue("IsPassive", ""))
				assert.False(t, hasAttr(root, "ForceAuthn"))
			},
		},
		{
			name: "NameIDFormat from options", opts: &saml2sp.AuthnRequestOptions{NameIDFormat: arFormatPers},
			mods:        []func(*saml2sp.Config){func(c *saml2sp.Config) { c.NameIDFormat = arFormatEmail }},
			wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, arFormatPers, child(t, root, arNSProtocol, "NameIDPolicy").SelectAttrValue("Format", ""))
			},
		},
		{
			name: "NameIDFormat from Config", opts: &saml2sp.AuthnRequestOptions{},
			mods:        []func(*saml2sp.Config){func(c *saml2sp.Config) { c.NameIDFormat = arFormatEmail }},
			wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, arFormatEmail, child(t, root, arNSProtocol, "NameIDPolicy").SelectAttrValue("Format", ""))
			},
		},
		{
			name: "RequestedAuthnContext", opts: &saml2sp.AuthnRequestOptions{RequestedAuthnContext: []string{arMFA, arPPT}},
			wantBinding: saml2sp.BindingHTTPRedirect,
			check: func(t *testing.T, root *etree.Element) {
				rac := child(t, root, arNSProtocol, "RequestedAuthnContext")
				assert.Equal(t, "exact", rac.SelectAttrValue("Comparison", ""))
				var refs []string
				for _, c := range rac.ChildElements() {
					assert.Equal(t, arNSAssertion, c.NamespaceURI())
					assert.Equal(t, "AuthnContextClassRef", c.Tag)
					refs = append(refs, c.Text())
				}
				assert.Equal(t, []string{arMFA, arPPT}, refs)
			},
		},
		{
			name: "nil options use Config.AuthnRequest",
			mods: []func(*saml2sp.Config){func(c *saml2sp.Config) {
				c.AuthnRequest = saml2sp.AuthnRequestOptions{ForceAuthn: true, Binding: saml2sp.BindingHTTPPost}
			}},
			wantBinding: saml2sp.BindingHTTPPost,
			check: func(t *testing.T, root *etree.Element) {
				assert.Equal(t, "true", root.SelectAttrValue("ForceAuthn", ""))
			},
		},
		{
			name: "POST asked for", opts: &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost},
			relayState: "r-post", wantBinding: saml2sp.BindingHTTPPost,
		},
		{
			name: "POST when the IdP has no redirect endpoint", mods: []func(*saml2sp.Config){postOnly},
			wantBinding: saml2sp.BindingHTTPPost,
		},
		{
			name: "redirect signed", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)},
			opts:       &saml2sp.AuthnRequestOptions{Sign: true},
			relayState: "r-1", wantBinding: saml2sp.BindingHTTPRedirect, wantSigned: true,
		},
		{
			name: "POST signed", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)},
			opts: &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost, Sign: true}, relayState: "r-2",
			wantBinding: saml2sp.BindingHTTPPost, wantSigned: true,
		},
		{
			// A signature costs an RSA operation per anonymous login start
			// and protects nothing of the SP's: only on request.
			name: "redirect with a key but nobody asking: unsigned", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)},
			wantBinding: saml2sp.BindingHTTPRedirect,
		},
		{
			name: "POST with a key but nobody asking: unsigned", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)},
			opts: &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost}, wantBinding: saml2sp.BindingHTTPPost,
		},
		{
			name:        "the IdP's metadata asks (WantAuthnRequestsSigned)",
			mods:        []func(*saml2sp.Config){withSPKey(spKey, spCert), withIdP(func(idp *saml2sp.IdentityProvider) { idp.WantAuthnRequestsSigned = true })},
			wantBinding: saml2sp.BindingHTTPRedirect, wantSigned: true,
		},
		{
			name: "Config.AuthnRequest.Sign",
			mods: []func(*saml2sp.Config){withSPKey(spKey, spCert), func(c *saml2sp.Config) {
				c.AuthnRequest = saml2sp.AuthnRequestOptions{Sign: true, Binding: saml2sp.BindingHTTPPost}
			}},
			wantBinding: saml2sp.BindingHTTPPost, wantSigned: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, tc.mods...)
			out, err := e.sp.NewAuthnRequest(tc.relayState, tc.opts)
			require.NoError(t, err)
			require.Equal(t, tc.wantBinding, out.Binding)
			s := decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL)
			root := s.root

			assert.Equal(t, tc.relayState, s.relayState)
			assert.Equal(t, "AuthnRequest", root.Tag)
			assert.Equal(t, arNSProtocol, root.NamespaceURI())
			assert.Equal(t, out.ID, root.SelectAttrValue("ID", ""))
			assert.Regexp(t, arIDPattern, out.ID)
			assert.Equal(t, "2.0", root.SelectAttrValue("Version", ""))
			assert.Equal(t, "2026-03-01T12:00:00Z", root.SelectAttrValue("IssueInstant", ""))
			assert.Equal(t, e.idp.SSOURL, root.SelectAttrValue("Destination", ""))
			assert.Equal(t, testACSURL, root.SelectAttrValue("AssertionConsumerServiceURL", ""))
			assert.Equal(t, saml2sp.BindingHTTPPost, root.SelectAttrValue("ProtocolBinding", ""))
			issuer := child(t, root, arNSAssertion, "Issuer")
			assert.Equal(t, testSPEntityID, issuer.Text())
			assert.Equal(t, "Issuer", root.ChildElements()[0].Tag, "Issuer comes first")

			signed := tc.wantSigned
			if out.Binding == saml2sp.BindingHTTPRedirect {
				assert.Equal(t, signed, s.msg.Signed())
				assert.Nil(t, root.SelectElement("Signature"), "redirect messages carry no XML signature")
				if signed {
					assert.Equal(t, xmldsig.RSASHA256, s.msg.SigAlg)
					assert.NoError(t, s.msg.Verify([]*x509.Certificate{spCert}, false))
				}
			} else {
				sig := root.SelectElement("Signature")
				assert.Equal(t, signed, sig != nil)
				if signed {
					assert.Equal(t, "Signature", root.ChildElements()[1].Tag, "Signature right after Issuer")
					assert.NoError(t, verifyXMLSignature(t, s, spCert))
				}
			}
			if tc.check != nil {
				tc.check(t, root)
			}
		})
	}
}

func TestNewAuthnRequestErrors(t *testing.T) {
	spKey, spCert := arKey(t, "rsa")
	cases := []struct {
		name       string
		mods       []func(*saml2sp.Config)
		opts       *saml2sp.AuthnRequestOptions
		relayState string
		want       error
	}{
		{
			name: "IdP wants signed requests and the SP has no key",
			mods: []func(*saml2sp.Config){withIdP(func(idp *saml2sp.IdentityProvider) { idp.WantAuthnRequestsSigned = true })},
			want: saml2sp.ErrConfig,
		},
		{
			name: "redirect asked for, IdP has only POST",
			mods: []func(*saml2sp.Config){withIdP(func(idp *saml2sp.IdentityProvider) {
				idp.SingleSignOnServices = onlyBinding(idp.SingleSignOnServices, saml2sp.BindingHTTPPost)
			})},
			opts: &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPRedirect},
			want: saml2sp.ErrConfig,
		},
		{
			name: "IdP has no SSO endpoint at all",
			mods: []func(*saml2sp.Config){withIdP(func(idp *saml2sp.IdentityProvider) { idp.SingleSignOnServices = nil })},
			want: saml2sp.ErrConfig,
		},
		{
			name: "SSO endpoint without Location",
			mods: []func(*saml2sp.Config){withIdP(func(idp *saml2sp.IdentityProvider) {
				idp.SingleSignOnServices = []saml2sp.Endpoint{{Binding: saml2sp.BindingHTTPRedirect}}
			})},
			want: saml2sp.ErrConfig,
		},
		{
			name: "unknown binding",
			opts: &saml2sp.AuthnRequestOptions{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"},
			want: saml2sp.ErrConfig,
		},
		{
			name: "empty class reference",
			opts: &saml2sp.AuthnRequestOptions{RequestedAuthnContext: []string{""}},
			want: saml2sp.ErrConfig,
		},
		{
			name: "NameIDFormat XML cannot carry",
			opts: &saml2sp.AuthnRequestOptions{NameIDFormat: "urn:x\x00"},
			want: saml2sp.ErrConfig,
		},
		{name: "Sign asked for and the SP has no key", opts: &saml2sp.AuthnRequestOptions{Sign: true}, want: saml2sp.ErrConfig},
		{name: "RelayState over 80 bytes, redirect", relayState: strings.Repeat("r", 81), want: saml2sp.ErrConfig},
		{
			name: "RelayState over 80 bytes, POST", relayState: strings.Repeat("r", 81),
			opts: &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost}, want: saml2sp.ErrConfig,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, tc.mods...)
			out, err := e.sp.NewAuthnRequest(tc.relayState, tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, out)
		})
	}
	t.Run("New refuses Config.AuthnRequest.Sign without a key", func(t *testing.T) {
		_, err := saml2sp.New(saml2sp.Config{EntityID: testSPEntityID, ACSURL: testACSURL, IdP: newTestIdP(t).IdentityProvider(),
			AuthnRequest: saml2sp.AuthnRequestOptions{Sign: true}})
		require.ErrorIs(t, err, saml2sp.ErrConfig)
	})

	t.Run("IdP wants signed requests and the SP has a key", func(t *testing.T) {
		e := newTestEnv(t, withSPKey(spKey, spCert),
			withIdP(func(idp *saml2sp.IdentityProvider) { idp.WantAuthnRequestsSigned = true }))
		out, err := e.sp.NewAuthnRequest("", nil)
		require.NoError(t, err)
		assert.True(t, decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL).msg.Signed())
	})
}

func TestNewAuthnRequestDetails(t *testing.T) {
	t.Run("IssueInstant has second precision in UTC", func(t *testing.T) {
		e := newTestEnv(t, func(c *saml2sp.Config) {
			c.Clock = func() time.Time { return testNow.Add(999 * time.Millisecond).In(time.FixedZone("x", 3600)) }
		})
		out, err := e.sp.NewAuthnRequest("", nil)
		require.NoError(t, err)
		root := decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL).root
		assert.Equal(t, "2026-03-01T12:00:00Z", root.SelectAttrValue("IssueInstant", ""))
	})
	t.Run("IDs are unique", func(t *testing.T) {
		e := newTestEnv(t)
		seen := map[string]bool{}
		for range 50 {
			out, err := e.sp.NewAuthnRequest("", nil)
			require.NoError(t, err)
			require.False(t, seen[out.ID])
			seen[out.ID] = true
		}
	})
	t.Run("SSO URL with a query string", func(t *testing.T) {
		e := newTestEnv(t, withIdP(func(idp *saml2sp.IdentityProvider) {
			for i := range idp.SingleSignOnServices {
				idp.SingleSignOnServices[i].Location = "https://idp.example.org/sso?tenant=a"
			}
		}))
		out, err := e.sp.NewAuthnRequest("r", nil)
		require.NoError(t, err)
		u, err := url.Parse(out.URL)
		require.NoError(t, err)
		assert.Equal(t, "a", u.Query().Get("tenant"))
		assert.NotEmpty(t, u.Query().Get("SAMLRequest"))
	})
	t.Run("ECDSA key", func(t *testing.T) {
		key, cert := arKey(t, "ecdsa")
		e := newTestEnv(t, withSPKey(key, cert))
		out, err := e.sp.NewAuthnRequest("", &saml2sp.AuthnRequestOptions{Sign: true})
		require.NoError(t, err)
		s := decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL)
		assert.Equal(t, xmldsig.ECDSASHA256, s.msg.SigAlg)
		assert.NoError(t, s.msg.Verify([]*x509.Certificate{cert}, false))

		out, err = e.sp.NewAuthnRequest("", &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost, Sign: true})
		require.NoError(t, err)
		s = decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL)
		sv, err := base64.StdEncoding.DecodeString(s.root.FindElement("./Signature/SignatureValue").Text())
		require.NoError(t, err)
		assert.Len(t, sv, 64, "XML-DSig ECDSA P-256 SignatureValue is raw r||s")
		assert.Equal(t, xmldsig.ECDSASHA256, s.root.FindElement("./Signature/SignedInfo/SignatureMethod").SelectAttrValue("Algorithm", ""))
		assert.NoError(t, verifyXMLSignature(t, s, cert))
	})
	t.Run("a signature by another key does not verify", func(t *testing.T) {
		key, cert := arKey(t, "rsa")
		_, other := arKey(t, "rsa")
		e := newTestEnv(t, withSPKey(key, cert))
		out, err := e.sp.NewAuthnRequest("", &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost, Sign: true})
		require.NoError(t, err)
		assert.Error(t, verifyXMLSignature(t, decodeOutbound(t, out, "SAMLRequest", e.idp.SSOURL), other))
	})
	t.Run("traced when tracing is on", func(t *testing.T) {
		var logs bytes.Buffer
		e := newTestEnv(t, func(c *saml2sp.Config) {
			c.InsecureTraceMessages = true
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		_, err := e.sp.NewAuthnRequest("", nil)
		require.NoError(t, err)
		assert.Contains(t, logs.String(), "direction=out kind=AuthnRequest")
		assert.Contains(t, logs.String(), "samlp:AuthnRequest")
	})
}

// xmllintSchema returns xmllint and the SAML 2.0 protocol schema. Without
// them (apt-get install libxml2-utils simplesamlphp) the test skips loudly,
// unless CI is set.
func xmllintSchema(t *testing.T) (bin, schema string) {
	t.Helper()
	schema = filepath.Join(arSchemaDir, "saml-schema-protocol-2.0.xsd")
	bin, err := exec.LookPath("xmllint")
	if err == nil {
		_, err = os.Stat(schema)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("xmllint and %s are required in CI (apt-get install libxml2-utils simplesamlphp): %v", schema, err)
		}
		t.Skipf("SKIPPING SCHEMA CHECK: %v; install libxml2-utils and simplesamlphp to validate messages against the SAML schema", err)
	}
	return bin, schema
}

// schemaErrors validates doc with xmllint and returns its complaint, if any.
func schemaErrors(t *testing.T, bin, schema string, doc []byte) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "message.xml")
	require.NoError(t, os.WriteFile(file, doc, 0o600))
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schema, file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmllint: %w: %s", err, out)
	}
	return nil
}

// TestOutboundSchema validates every kind of message the SP sends against
// the SAML protocol schema.
func TestOutboundSchema(t *testing.T) {
	spKey, spCert := arKey(t, "rsa")
	full := &saml2sp.AuthnRequestOptions{ForceAuthn: true, IsPassive: true, NameIDFormat: arFormatEmail,
		RequestedAuthnContext: []string{arMFA, arPPT}}
	fullPost := *full
	fullPost.Binding = saml2sp.BindingHTTPPost
	fullPost.Sign = true
	subject := saml2sp.LogoutSubject{NameID: "alice@example.com", NameIDFormat: arFormatEmail,
		NameQualifier: testIdPEntityID, SPNameQualifier: testSPEntityID, SessionIndex: "_s1"}
	postSLO := withIdP(func(idp *saml2sp.IdentityProvider) {
		idp.SingleLogoutServices = onlyBinding(idp.SingleLogoutServices, saml2sp.BindingHTTPPost)
	})
	cases := []struct {
		name  string
		key   bool
		param string
		make  func(e *testEnv) (*saml2sp.Outbound, error)
		mods  []func(*saml2sp.Config)
	}{
		{"AuthnRequest minimal", false, "SAMLRequest", func(e *testEnv) (*saml2sp.Outbound, error) { return e.sp.NewAuthnRequest("", nil) }, nil},
		{"AuthnRequest all options", false, "SAMLRequest", func(e *testEnv) (*saml2sp.Outbound, error) { return e.sp.NewAuthnRequest("", full) }, nil},
		{"AuthnRequest signed POST", true, "SAMLRequest", func(e *testEnv) (*saml2sp.Outbound, error) { return e.sp.NewAuthnRequest("", &fullPost) }, nil},
		{"LogoutRequest", false, "SAMLRequest", func(e *testEnv) (*saml2sp.Outbound, error) { return e.sp.NewLogoutRequest(subject, "") }, nil},
		{"LogoutRequest signed POST", true, "SAMLRequest", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewLogoutRequest(subject, "")
		}, []func(*saml2sp.Config){postSLO}},
		{"LogoutResponse", false, "SAMLResponse", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: "_r1", Binding: saml2sp.BindingHTTPRedirect}, "")
		}, nil},
		{"LogoutResponse signed POST Responder", true, "SAMLResponse", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: "_r1", Binding: saml2sp.BindingHTTPPost},
				"urn:oasis:names:tc:SAML:2.0:status:Responder")
		}, []func(*saml2sp.Config){postSLO}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin, schema := xmllintSchema(t)
			mods := tc.mods
			if tc.key {
				mods = append(mods, withSPKey(spKey, spCert))
			}
			e := newTestEnv(t, mods...)
			out, err := tc.make(e)
			require.NoError(t, err)
			var doc []byte
			if out.Form != nil {
				doc, err = base64.StdEncoding.DecodeString(out.Form.Get(tc.param))
				require.NoError(t, err)
			} else {
				u, err := url.Parse(out.URL)
				require.NoError(t, err)
				m, err := redirect.Decode(u.RawQuery, 0)
				require.NoError(t, err)
				doc = m.XML
			}
			if tc.key {
				require.Contains(t, string(doc), "SignatureValue")
			}
			require.NoError(t, schemaErrors(t, bin, schema, doc), "%s", doc)
		})
	}
	t.Run("the check works", func(t *testing.T) {
		// An Issuer after NameIDPolicy breaks the schema's sequence; if
		// xmllint let it pass, the cases above would prove nothing.
		bin, schema := xmllintSchema(t)
		bad := []byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1" Version="2.0" IssueInstant="2026-03-01T12:00:00Z"><samlp:NameIDPolicy AllowCreate="true"/><saml:Issuer>x</saml:Issuer></samlp:AuthnRequest>`)
		assert.Error(t, schemaErrors(t, bin, schema, bad))
	})
}

// interopTool returns the path of a system tool the interop checks need,
// skipping loudly (or failing in CI) without it.
func interopTool(t *testing.T, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI (apt-get install %s): %v", name, pkg, err)
	}
	t.Skipf("SKIPPING INTEROP CHECK: %s not found; install %s", name, pkg)
	return ""
}

func pemFile(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// TestRedirectSignatureOpenSSL checks the query-string signature of a
// signed AuthnRequest with openssl over the raw octets
// SAMLRequest=...&RelayState=...&SigAlg=..., as SimpleSAMLphp does.
func TestRedirectSignatureOpenSSL(t *testing.T) {
	bin := interopTool(t, "openssl", "openssl")
	spKey, spCert := arKey(t, "rsa")
	e := newTestEnv(t, withSPKey(spKey, spCert))
	out, err := e.sp.NewAuthnRequest("state/1 &x", &saml2sp.AuthnRequestOptions{Sign: true})
	require.NoError(t, err)
	query := strings.SplitN(out.URL, "?", 2)[1]
	i := strings.Index(query, "&Signature=")
	require.Positive(t, i)
	octets := query[:i]
	require.Regexp(t, `^SAMLRequest=[^&]+&RelayState=[^&]+&SigAlg=[^&]+$`, octets)
	sigParam, err := url.QueryUnescape(query[i+len("&Signature="):])
	require.NoError(t, err)
	sig, err := base64.StdEncoding.DecodeString(sigParam)
	require.NoError(t, err)

	dir := t.TempDir()
	pubDER, err := x509.MarshalPKIXPublicKey(spCert.PublicKey)
	require.NoError(t, err)
	pub := pemFile(t, dir, "sp.pub", "PUBLIC KEY", pubDER)
	sigFile := filepath.Join(dir, "sig.bin")
	require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
	verify := func(data string) (string, error) {
		dataFile := filepath.Join(dir, "data.txt")
		require.NoError(t, os.WriteFile(dataFile, []byte(data), 0o600))
		b, err := exec.Command(bin, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, dataFile).CombinedOutput()
		return string(b), err
	}
	outText, err := verify(octets)
	require.NoError(t, err, outText)
	assert.Contains(t, outText, "Verified OK")
	outText, err = verify(strings.Replace(octets, "RelayState=", "RelayState=x", 1))
	assert.Error(t, err, "openssl accepted tampered octets: %s", outText)
}

// TestPostSignatureXMLSec1 checks the enveloped signatures of the messages
// the SP POSTs with libxmlsec1, trusting only the SP certificate.
func TestPostSignatureXMLSec1(t *testing.T) {
	bin := interopTool(t, "xmlsec1", "xmlsec1")
	spKey, spCert := arKey(t, "rsa")
	ecKey, ecCert := arKey(t, "ecdsa")
	postSLO := withIdP(func(idp *saml2sp.IdentityProvider) {
		idp.SingleLogoutServices = onlyBinding(idp.SingleLogoutServices, saml2sp.BindingHTTPPost)
	})
	cases := []struct {
		name, kind, param string
		key               crypto.Signer
		cert              *x509.Certificate
		keyData           string
		make              func(e *testEnv) (*saml2sp.Outbound, error)
	}{
		{"AuthnRequest RSA", "AuthnRequest", "SAMLRequest", spKey, spCert, "key-name,rsa", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewAuthnRequest("r", &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost, RequestedAuthnContext: []string{arPPT}, Sign: true})
		}},
		{"AuthnRequest ECDSA", "AuthnRequest", "SAMLRequest", ecKey, ecCert, "key-name,ecdsa", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewAuthnRequest("r", &saml2sp.AuthnRequestOptions{Binding: saml2sp.BindingHTTPPost, Sign: true})
		}},
		{"LogoutRequest", "LogoutRequest", "SAMLRequest", spKey, spCert, "key-name,rsa", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewLogoutRequest(saml2sp.LogoutSubject{NameID: "a\tb\r\nc", SessionIndex: "_s"}, "r")
		}},
		{"LogoutResponse", "LogoutResponse", "SAMLResponse", spKey, spCert, "key-name,rsa", func(e *testEnv) (*saml2sp.Outbound, error) {
			return e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: "_r", Binding: saml2sp.BindingHTTPPost}, "")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, withSPKey(tc.key, tc.cert), postSLO)
			out, err := tc.make(e)
			require.NoError(t, err)
			require.Equal(t, saml2sp.BindingHTTPPost, out.Binding)
			doc, err := base64.StdEncoding.DecodeString(out.Form.Get(tc.param))
			require.NoError(t, err)

			dir := t.TempDir()
			certFile := pemFile(t, dir, "sp.crt", "CERTIFICATE", tc.cert.Raw)
			run := func(doc []byte) (string, error) {
				file := filepath.Join(dir, "msg.xml")
				require.NoError(t, os.WriteFile(file, doc, 0o600))
				b, err := exec.Command(bin, "--verify", "--pubkey-cert-pem", certFile,
					"--enabled-key-data", tc.keyData,
					"--id-attr:ID", arNSProtocol+":"+tc.kind, file).CombinedOutput()
				return string(b), err
			}
			text, err := run(doc)
			require.NoError(t, err, "%s\n%s", text, doc)
			assert.Contains(t, text, "OK")

			tampered := bytes.Replace(doc, []byte(testSPEntityID), []byte("https://evil.example.com"), 1)
			require.NotEqual(t, doc, tampered)
			text, err = run(tampered)
			assert.Error(t, err, "xmlsec1 accepted a tampered message: %s", text)
		})
	}
}
