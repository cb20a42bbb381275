package xmldsig_test

import (
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
)

// TestVerifyBoundedMetadata: a signed element past the message bounds is
// refused by Verify, as before, and verified by VerifyBounded with bounds
// sized for metadata; the message bounds are unchanged.
func TestVerifyBoundedMetadata(t *testing.T) {
	assert.Equal(t, xmldsig.Bounds{Elements: 5000, NamespacePrefixes: 32, Attributes: 32, NamespaceBytes: 5000 * 64}, xmldsig.MessageBounds)
	s := newSigner(t, false)
	doc := boundedThing(2*xmldsig.MaxSignedElements, xmldsig.MaxAttributes+5, xmldsig.MaxNamespacePrefixes, "urn:example:pad")
	md := xmldsig.MetadataBounds(1<<20, 18)
	for _, tc := range []struct {
		name    string
		bounds  *xmldsig.Bounds
		wantErr error
	}{
		{name: "message bounds", wantErr: xmldsig.ErrLimit},
		{name: "metadata bounds", bounds: &md},
		{name: "metadata bounds of a smaller document", bounds: ptr(xmldsig.MetadataBounds(len(doc)/2, 18)), wantErr: xmldsig.ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, sigEl := s.signXML(t, doc, "%s")
			sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
			require.NoError(t, err)
			if tc.bounds == nil {
				_, _, err = xmldsig.Verify(el, sig, []*x509.Certificate{s.cert})
			} else {
				_, _, err = xmldsig.VerifyBounded(el, sig, []*x509.Certificate{s.cert}, *tc.bounds)
			}
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
	t.Run("more than 64 prefixes cannot be asked for", func(t *testing.T) {
		el, sigEl := s.signXML(t, thingXML, "%s")
		sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
		require.NoError(t, err)
		b := md
		b.NamespacePrefixes = 65
		_, _, err = xmldsig.VerifyBounded(el, sig, []*x509.Certificate{s.cert}, b)
		require.ErrorContains(t, err, "exceeds 64")
	})
}

func ptr[T any](v T) *T { return &v }

// TestUnknownKey: a signature made with a key that is not trusted matches
// ErrUnknownKey and ErrNoTrustedKey, with the text it always had; one
// whose content changed under a trusted key matches ErrNoTrustedKey only.
func TestUnknownKey(t *testing.T) {
	idp, other := newSigner(t, false), newSigner(t, true)
	t.Run("untrusted key", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
		require.NoError(t, err)
		_, _, err = xmldsig.Verify(el, sig, []*x509.Certificate{other.cert})
		require.ErrorIs(t, err, xmldsig.ErrUnknownKey)
		require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
		assert.Equal(t, "signature does not verify with any trusted certificate (SignedInfo verifies with none of the 1 trusted certificate(s))", err.Error())
	})
	t.Run("changed content", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		el.SelectElement("Body").SetText("changed")
		sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
		require.NoError(t, err)
		_, _, err = xmldsig.Verify(el, sig, []*x509.Certificate{idp.cert})
		require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
		assert.NotErrorIs(t, err, xmldsig.ErrUnknownKey, "the key is known")
	})
}
