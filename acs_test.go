package saml2sp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestParseResponseAcceptsEachSigningMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		sign saml2sptest.Sign
		omit bool
	}{
		{"assertion signed", saml2sptest.SignAssertion, false},
		{"response signed", saml2sptest.SignResponse, false},
		{"both signed", saml2sptest.SignBoth, false},
		{"assertion signed without KeyInfo", saml2sptest.SignAssertion, true},
		{"both signed without KeyInfo", saml2sptest.SignBoth, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
				r.Sign = tc.sign
				r.OmitKeyInfo = tc.omit
				r.SessionIndex = "_sess-42"
			})))
			require.NoError(t, err)
			assert.Equal(t, "alice@example.com", a.NameID)
			assert.Equal(t, testIdPEntityID, a.Issuer)
			assert.Equal(t, testRequestID, a.InResponseTo)
			assert.Equal(t, "_sess-42", a.SessionIndex)
			assert.Equal(t, []string{"users", "Dogs & cats"}, a.Attribute("groups"))
			assert.Equal(t, []string{"alice@example.com"}, a.Attribute("mail"))
		})
	}
}
