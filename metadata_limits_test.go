package saml2sp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// TestMetadataAggregateBeyondMessageLimits: metadata is parsed with
// xmlsafe.MetadataLimits, not the message limits, so a federation aggregate
// with more elements than any message may hold (here one IdP among 26,000
// service providers, 52,000 elements, 4.5 MB) still yields its IdP.
func TestMetadataAggregateBeyondMessageLimits(t *testing.T) {
	okta := string(mdReadFixture(t, "okta.xml"))
	okta = okta[strings.Index(okta, "?>")+2:]
	const sps = 26000
	var b strings.Builder
	b.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">`)
	b.WriteString(okta)
	for i := range sps {
		fmt.Fprintf(&b, `<md:EntityDescriptor entityID="https://sp%05d.example.org/sp">`+
			`<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`, i)
	}
	b.WriteString(`</md:EntitiesDescriptor>`)
	doc := []byte(b.String())
	require.Less(t, len(doc), MaxMetadataSize)

	_, err := xmlsafe.Parse(doc, xmlsafe.DefaultLimits)
	require.ErrorContains(t, err, "MaxElements", "the aggregate must exceed the message limits")
	idp, err := ParseMetadata(doc)
	require.NoError(t, err)
	assert.Equal(t, "http://www.okta.com/exk1fcia6d6EMsf331d8", idp.EntityID)
}
