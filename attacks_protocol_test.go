package saml2sp_test

// Protocol rules: ../shared/saml-attacks.md lines 32-40, plus metadata
// expiry. Every case is validly signed, so only the rule under test stands
// between it and acceptance.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

type protocolCase struct {
	name    string
	cfg     func(*saml2sp.Config)
	mod     func(*saml2sptest.Response)
	wantErr error // nil: must be accepted
}

func runProtocolCases(t *testing.T, cases []protocolCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*saml2sp.Config)
			if tc.cfg != nil {
				mods = append(mods, tc.cfg)
			}
			e := newTestEnv(t, mods...)
			var rmods []func(*saml2sptest.Response)
			if tc.mod != nil {
				rmods = append(rmods, tc.mod)
			}
			a, err := e.parse(e.mint(e.response(rmods...)))
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.NotNil(t, a)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assert.Nil(t, a)
			assert.NotContains(t, err.Error(), "<saml", "errors must not carry XML")
		})
	}
}

func removeAttr(tag, key string) func(*etree.Element) {
	return func(root *etree.Element) { findTag(root, tag).RemoveAttr(key) }
}

func setAttr(tag, key, value string) func(*etree.Element) {
	return func(root *etree.Element) { findTag(root, tag).CreateAttr(key, value) }
}

func removeElement(tag string) func(*etree.Element) {
	return func(root *etree.Element) {
		el := findTag(root, tag)
		el.Parent().RemoveChild(el)
	}
}

func signBoth(r *saml2sptest.Response)     { r.Sign = saml2sptest.SignBoth }
func signResponse(r *saml2sptest.Response) { r.Sign = saml2sptest.SignResponse }

func all(mods ...func(*saml2sptest.Response)) func(*saml2sptest.Response) {
	return func(r *saml2sptest.Response) {
		for _, m := range mods {
			m(r)
		}
	}
}

func TestDestination(t *testing.T) { // DST
	runProtocolCases(t, []protocolCase{
		{name: "wrong Destination, assertion signed", mod: func(r *saml2sptest.Response) { r.Destination = "https://evil.example/acs"; r.Recipient = testACSURL }, wantErr: saml2sp.ErrDestination},
		{name: "wrong Destination, response signed", mod: all(signResponse, func(r *saml2sptest.Response) { r.Destination = "https://evil.example/acs"; r.Recipient = testACSURL }), wantErr: saml2sp.ErrDestination},
		{name: "missing Destination on a signed Response", mod: all(signResponse, func(r *saml2sptest.Response) { r.EditResponse = removeAttr("Response", "Destination") }), wantErr: saml2sp.ErrDestination},
		{name: "missing Destination on an unsigned Response is allowed", mod: func(r *saml2sptest.Response) { r.EditResponse = removeAttr("Response", "Destination") }},
	})
}

func TestSubjectConfirmation(t *testing.T) { // SCD
	runProtocolCases(t, []protocolCase{
		{name: "Recipient is another SP", mod: func(r *saml2sptest.Response) { r.Recipient = "https://other.example/acs" }, wantErr: saml2sp.ErrRecipient},
		{name: "Recipient missing", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeAttr("SubjectConfirmationData", "Recipient") }, wantErr: saml2sp.ErrRecipient},
		{name: "bearer NotOnOrAfter missing", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = removeAttr("SubjectConfirmationData", "NotOnOrAfter")
		}, wantErr: saml2sp.ErrExpired},
		{name: "bearer NotOnOrAfter passed", mod: func(r *saml2sptest.Response) { r.SubjectNotOnOrAfter = testNow.Add(-2 * time.Minute) }, wantErr: saml2sp.ErrExpired},
		{name: "SubjectConfirmationData NotBefore in the future", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("SubjectConfirmationData", "NotBefore", testNow.Add(5*time.Minute).Format(time.RFC3339))
		}, wantErr: saml2sp.ErrNotYetValid},
		{name: "Method holder-of-key, not bearer", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("SubjectConfirmation", "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
		}, wantErr: saml2sp.ErrRecipient},
		{name: "no SubjectConfirmationData", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("SubjectConfirmationData") }, wantErr: saml2sp.ErrRecipient},
		{name: "no Subject", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("Subject") }, wantErr: saml2sp.ErrSubject},
		{name: "no AuthnStatement", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("AuthnStatement") }, wantErr: saml2sp.ErrSubject},
	})
}

func TestAudience(t *testing.T) { // AUD
	runProtocolCases(t, []protocolCase{
		{name: "SP absent", mod: func(r *saml2sptest.Response) { r.Audience = "https://other.example/sp" }, wantErr: saml2sp.ErrAudience},
		{name: "SP in only one of two restrictions", mod: func(r *saml2sptest.Response) {
			r.Audiences = [][]string{{testSPEntityID}, {"https://other.example/sp"}}
		}, wantErr: saml2sp.ErrAudience},
		{name: "SP in both restrictions", mod: func(r *saml2sptest.Response) {
			r.Audiences = [][]string{{testSPEntityID, "https://other.example/sp"}, {testSPEntityID}}
		}},
		{name: "no Conditions", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("Conditions") }, wantErr: saml2sp.ErrAudience},
		{name: "no AudienceRestriction", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("AudienceRestriction") }, wantErr: saml2sp.ErrAudience},
		{name: "unknown Condition", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = func(a *etree.Element) { findTag(a, "Conditions").CreateElement("saml:Condition") }
		}, wantErr: saml2sp.ErrUnsupported},
	})
	t.Run("message names both values", func(t *testing.T) {
		e := newTestEnv(t)
		_, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) { r.Audience = "https://other.example/sp" })))
		require.ErrorIs(t, err, saml2sp.ErrAudience)
		assert.Contains(t, err.Error(), `"https://other.example/sp"`)
		assert.Contains(t, err.Error(), `does not include SP entity ID "`+testSPEntityID+`"`)
	})
}

func TestIssuer(t *testing.T) { // ISS
	runProtocolCases(t, []protocolCase{
		{name: "assertion Issuer is another IdP", mod: func(r *saml2sptest.Response) { r.Issuer = "https://other-idp.example/" }, wantErr: saml2sp.ErrIssuer},
		{name: "Response Issuer differs, response signed", mod: all(signBoth, func(r *saml2sptest.Response) {
			r.EditResponse = func(resp *etree.Element) { findTag(resp, "Issuer").SetText("https://other-idp.example/") }
		}), wantErr: saml2sp.ErrIssuer},
		{name: "Response Issuer differs, response unsigned", mod: func(r *saml2sptest.Response) {
			r.EditResponse = func(resp *etree.Element) {
				for _, c := range resp.ChildElements() {
					if c.Tag == "Issuer" {
						c.SetText("https://other-idp.example/")
					}
				}
			}
		}, wantErr: saml2sp.ErrIssuer},
		{name: "assertion Issuer has a transient Format", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("Issuer", "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
		}, wantErr: saml2sp.ErrIssuer},
		{name: "assertion Issuer has the entity Format", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("Issuer", "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
		}},
		{name: "assertion Issuer missing", mod: func(r *saml2sptest.Response) { r.EditAssertion = removeElement("Issuer") }, wantErr: saml2sp.ErrMalformed},
	})
}

func TestInResponseTo(t *testing.T) { // IRT
	allowIdP := func(c *saml2sp.Config) { c.AllowIdPInitiated = true }
	runProtocolCases(t, []protocolCase{
		{name: "unknown request", mod: func(r *saml2sptest.Response) { r.InResponseTo = "_someone-elses" }, wantErr: saml2sp.ErrInResponseTo},
		{name: "unknown request even with IdP-initiated allowed", cfg: allowIdP, mod: func(r *saml2sptest.Response) { r.InResponseTo = "_someone-elses" }, wantErr: saml2sp.ErrInResponseTo},
		{name: "unsolicited while disabled", mod: func(r *saml2sptest.Response) { r.InResponseTo = "" }, wantErr: saml2sp.ErrUnsolicited},
		{name: "unsolicited while enabled", cfg: allowIdP, mod: func(r *saml2sptest.Response) { r.InResponseTo = "" }},
		{name: "Response and SubjectConfirmationData disagree", mod: all(signBoth, func(r *saml2sptest.Response) {
			r.EditResponse = setAttr("Response", "InResponseTo", "_other")
		}), wantErr: saml2sp.ErrInResponseTo},
		{name: "only the unsigned Response names the request", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = removeAttr("SubjectConfirmationData", "InResponseTo")
		}, wantErr: saml2sp.ErrInResponseTo},
		{name: "only the signed Response names the request", mod: all(signResponse, func(r *saml2sptest.Response) {
			r.EditAssertion = removeAttr("SubjectConfirmationData", "InResponseTo")
		})},
	})
	t.Run("used request is no longer outstanding", func(t *testing.T) {
		e := newTestEnv(t)
		_, err := e.sp.ParseResponse(context.Background(), e.mint(e.response()), nil)
		require.ErrorIs(t, err, saml2sp.ErrInResponseTo)
	})
}

func TestTimes(t *testing.T) { // TIME
	skew := saml2sp.DefaultClockSkew
	runProtocolCases(t, []protocolCase{
		{name: "NotBefore beyond skew", mod: func(r *saml2sptest.Response) { r.NotBefore = testNow.Add(skew + time.Second) }, wantErr: saml2sp.ErrNotYetValid},
		{name: "NotBefore within skew", mod: func(r *saml2sptest.Response) { r.NotBefore = testNow.Add(skew - time.Second) }},
		{name: "now equals NotOnOrAfter plus skew (exclusive bound)", mod: func(r *saml2sptest.Response) { r.NotOnOrAfter = testNow.Add(-skew) }, wantErr: saml2sp.ErrExpired},
		{name: "one second before NotOnOrAfter plus skew", mod: func(r *saml2sptest.Response) { r.NotOnOrAfter = testNow.Add(-skew + time.Second) }},
		{name: "stale IssueInstant", mod: func(r *saml2sptest.Response) {
			r.IssueInstant = testNow.Add(-saml2sp.DefaultMaxAssertionAge - skew - time.Second)
			r.NotOnOrAfter = testNow.Add(time.Hour)
			r.SubjectNotOnOrAfter = testNow.Add(time.Hour)
		}, wantErr: saml2sp.ErrExpired},
		{name: "IssueInstant in the future", mod: func(r *saml2sptest.Response) { r.IssueInstant = testNow.Add(skew + time.Minute) }, wantErr: saml2sp.ErrNotYetValid},
		{name: "SessionNotOnOrAfter passed", mod: func(r *saml2sptest.Response) { r.SessionNotOnOrAfter = testNow.Add(-skew - time.Second) }, wantErr: saml2sp.ErrExpired},
		{name: "dateTime without time zone", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("Assertion", "IssueInstant", "2026-03-01T12:00:00")
		}, wantErr: saml2sp.ErrMalformed},
		{name: "dateTime garbage", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("Conditions", "NotOnOrAfter", "tomorrow")
		}, wantErr: saml2sp.ErrMalformed},
		{name: "fractional seconds and offsets parse", mod: func(r *saml2sptest.Response) {
			r.EditAssertion = setAttr("Conditions", "NotOnOrAfter", testNow.Add(time.Minute).In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000-07:00"))
		}},
	})
}

func TestStatus(t *testing.T) { // STAT
	runProtocolCases(t, []protocolCase{
		{name: "top-level Responder with nested Success", mod: func(r *saml2sptest.Response) {
			r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
			r.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:Success"
		}, wantErr: saml2sp.ErrStatus},
		{name: "missing Status", mod: all(signResponse, func(r *saml2sptest.Response) { r.EditResponse = removeElement("Status") }), wantErr: saml2sp.ErrMalformed},
	})
	t.Run("codes and message reach the admin", func(t *testing.T) {
		e := newTestEnv(t)
		_, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
			r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
			r.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
			r.StatusMessage = "User is not assigned to this application"
		})))
		var se *saml2sp.StatusError
		require.True(t, errors.As(err, &se))
		assert.Equal(t, []string{"urn:oasis:names:tc:SAML:2.0:status:Responder", "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"}, se.Codes)
		assert.Equal(t, "User is not assigned to this application", se.Message)
		assert.Contains(t, err.Error(), "Responder/RequestDenied")
	})
}

func TestAssertionCount(t *testing.T) { // CNT
	e := newTestEnv(t)
	t.Run("zero assertions with Success", func(t *testing.T) {
		_, err := e.parse(e.mint(e.response(all(signResponse, func(r *saml2sptest.Response) { r.EditResponse = removeElement("Assertion") }))))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
	})
	t.Run("signed assertion plus an unsigned one", func(t *testing.T) {
		doc := e.mintXML(e.response())
		a := findTag(doc.Root(), "Assertion")
		clone := a.Copy()
		clone.RemoveChild(findTag(clone, "Signature"))
		clone.CreateAttr("ID", "_unsigned-clone")
		doc.Root().AddChild(clone)
		_, err := e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
	})
	t.Run("EncryptedAssertion next to an Assertion", func(t *testing.T) {
		doc := e.mintXML(e.response())
		doc.Root().CreateElement("saml:EncryptedAssertion")
		_, err := e.parse(encodeDoc(t, doc))
		require.Error(t, err)
	})
}

func TestReplay(t *testing.T) { // REPLAY
	e := newTestEnv(t)
	v := e.mint(e.response())
	_, err := e.parse(v)
	require.NoError(t, err)
	_, err = e.parse(v)
	require.ErrorIs(t, err, saml2sp.ErrReplay)

	t.Run("a failed attempt does not burn the ID", func(t *testing.T) {
		e := newTestEnv(t)
		v := e.mint(e.response())
		_, err := e.sp.ParseResponse(context.Background(), v, nil) // wrong request list
		require.ErrorIs(t, err, saml2sp.ErrInResponseTo)
		_, err = e.parse(v)
		require.NoError(t, err)
	})
}

func TestExpiredMetadata(t *testing.T) {
	e := newTestEnv(t, func(c *saml2sp.Config) {
		idp := *c.IdP
		idp.ValidUntil = testNow.Add(-time.Hour)
		c.IdP = &idp
	})
	_, err := e.parse(e.mint(e.response()))
	require.ErrorIs(t, err, saml2sp.ErrMetadata)
}

func TestLargeGroupList(t *testing.T) {
	// goxmldsig's namespace helpers stop at 1,000 elements; a big assertion
	// must not reach them.
	groups := make([]string, 500)
	for i := range groups {
		groups[i] = "group-" + string(rune('a'+i%26)) + time.Duration(i).String()
	}
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth} {
		e := newTestEnv(t)
		a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
			r.Sign = sign
			r.Attributes = append(r.Attributes, saml2sp.Attribute{Name: "memberOf", Values: groups})
			for i := 0; i < 100; i++ {
				r.Attributes = append(r.Attributes, saml2sp.Attribute{Name: "attr" + time.Duration(i).String(), Values: []string{"v"}})
			}
		})))
		require.NoError(t, err)
		assert.Equal(t, groups, a.Attribute("memberOf"))
	}
}
