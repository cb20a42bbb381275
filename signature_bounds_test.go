package saml2sp_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestSignedElementBounds: a signed Assertion beyond the element bound of
// the signature check is refused as malformed before any canonicalization;
// one well inside it is accepted.
func TestSignedElementBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  int
		wantErr error
	}{
		{name: "4,000 group values", values: 4000},
		{name: "as many group values as the bound has elements", values: xmldsig.MaxSignedElements, wantErr: saml2sp.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Thousands of values take more than the default size limit.
			e := newTestEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = 1 << 20 })
			groups := make([]string, tc.values)
			for i := range groups {
				groups[i] = fmt.Sprint(i)
			}
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
				r.Attributes = []saml2sp.Attribute{{Name: "groups", Values: groups}}
			})))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorIs(t, err, xmldsig.ErrLimit)
				assert.NotErrorIs(t, err, saml2sp.ErrSignature)
				assert.Contains(t, err.Error(), fmt.Sprintf("more than %d elements", xmldsig.MaxSignedElements))
				return
			}
			require.NoError(t, err)
			assert.Len(t, a.Attribute("groups"), tc.values)
		})
	}
}
