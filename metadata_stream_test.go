package saml2sp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// mdTreeReader reads data the way the library did before it streamed: one
// etree of the whole document, then mdCollect. The stream must find the
// same entities and read the same IdPs from them.
func mdTreeReader(data []byte, now time.Time) mdRead {
	return func(visit func(mdEntity) error) error {
		data = []byte(strings.TrimPrefix(string(data), "\xef\xbb\xbf"))
		doc, err := xmlsafe.Parse(data, mdLimits(MaxMetadataSize))
		if err != nil {
			return err
		}
		if err := mdCheckRoot(doc.Root(), doc.Root().NamespaceURI()); err != nil {
			return err
		}
		return mdCollect(doc.Root(), mdValidity{}, now, visit)
	}
}

// mdStreamCases are documents whose pruning could go wrong: what the
// stream leaves out must never be what the extraction reads.
func mdStreamCases(t *testing.T) map[string]string {
	cert, _ := mdTestCert(t, "idp")
	good := mdBaseDoc(cert)
	const sp = `<md:EntityDescriptor entityID="https://sp.example/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`
	role := "<md:IDPSSODescriptor "
	cases := map[string]string{
		"base":                 good,
		"aggregate with an SP": mdAggregate(`Name="urn:fed" cacheDuration="PT6H"`, mdEntityOf(good), sp),
		"bad URL inside the role's Extensions is not read": strings.Replace(good, "<md:KeyDescriptor",
			`<md:Extensions><md:Foo Location="javascript:x"/></md:Extensions><md:KeyDescriptor`, 1),
		"Location on the role's Extensions is read": strings.Replace(good, "<md:KeyDescriptor",
			`<md:Extensions Location="javascript:x"/><md:KeyDescriptor`, 1),
		"bad URL on an unknown md child of the role": strings.Replace(good, "<md:KeyDescriptor",
			`<md:ArtifactResolutionService Binding="urn:x" Location="file:///etc/passwd" index="0"/><md:KeyDescriptor`, 1),
		"foreign child of the role": strings.Replace(good, "<md:KeyDescriptor",
			`<x:Foo xmlns:x="urn:x" Location="javascript:x"/><md:KeyDescriptor`, 1),
		"element inside the certificate": strings.Replace(good, "</ds:X509Certificate>", "<ds:X/></ds:X509Certificate>", 1),
		"comment inside the certificate": strings.Replace(good, mdB64(cert), mdB64(cert)[:10]+"<!-- c -->"+mdB64(cert)[10:], 1),
		"CDATA in the NameIDFormat":      strings.Replace(good, "<md:NameIDFormat>", "<md:NameIDFormat><![CDATA[ ]]>", 1),
		"entity in the aggregate's Extensions is not collected": mdAggregate("",
			`<md:Extensions>`+strings.Replace(mdEntityOf(mdWithEntityID(good, "https://hidden.example/")), `<?xml`, `<!--`, 1)+`</md:Extensions>`, mdEntityOf(good)),
		"entity in a foreign namespace is not collected": mdAggregate(`xmlns:x="urn:x"`,
			`<x:EntityDescriptor entityID="https://x.example/"/>`, mdEntityOf(good)),
		"default namespace md, ds declared on the root": mdXMLDecl + `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:d="http://www.w3.org/2000/09/xmldsig#">` +
			strings.NewReplacer("md:", "", "ds:", "d:", ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", ` xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, "").Replace(mdEntityOf(good)) +
			`</EntitiesDescriptor>`,
		"role redeclares the prefix": strings.Replace(good, role, `<m:IDPSSODescriptor xmlns:m="urn:oasis:names:tc:SAML:2.0:metadata" `, 1),
		"two roles":                  strings.Replace(good, "</md:EntityDescriptor>", "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/></md:EntityDescriptor>", 1),
		"nested aggregates with validity": mdAggregate(`validUntil="2099-01-01T00:00:00Z"`,
			`<md:EntitiesDescriptor cacheDuration="PT1H" validUntil="2098-01-01T00:00:00Z">`+mdEntityOf(good)+`</md:EntitiesDescriptor>`),
		"expired inner aggregate":    mdAggregate("", `<md:EntitiesDescriptor Name="inner" validUntil="2001-01-01T00:00:00Z">`+mdEntityOf(good)+`</md:EntitiesDescriptor>`),
		"wrong root":                 `<md:EntityDescriptorX xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`,
		"SP only":                    mdXMLDecl + strings.Replace(sp, "<md:EntityDescriptor ", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" `, 1),
		"malformed after the entity": strings.Replace(mdAggregate("", mdEntityOf(good)), "</md:EntitiesDescriptor>", "<?pi x?></md:EntitiesDescriptor>", 1),
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "metadata"))
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".xml") {
			cases[e.Name()] = string(mdReadFixture(t, e.Name()))
		}
	}
	return cases
}

// TestMetadataStreamMatchesTree: reading a document entity by entity
// finds the same entities, the same IdPs and the same errors as reading
// it as one tree.
func TestMetadataStreamMatchesTree(t *testing.T) {
	now := time.Now()
	for name, doc := range mdStreamCases(t) {
		t.Run(name, func(t *testing.T) {
			data := []byte(doc)
			stream, tree := mdReader(data, mdOptions{}, now), mdTreeReader(data, now)

			sAll, sErr := mdParseAll(stream, now)
			tAll, tErr := mdParseAll(tree, now)
			sameResult(t, "mdParseAll", tAll, tErr, sAll, sErr)
			if tErr == nil {
				require.NotEmpty(t, sAll)
			}

			sOne, sErr := mdParseSingle(stream, now)
			tOne, tErr := mdParseSingle(tree, now)
			sameResult(t, "mdParseSingle", tOne, tErr, sOne, sErr)

			for _, id := range []string{"https://idp.example.com/metadata", "https://hidden.example/", "https://sp.example/",
				"https://x.example/", "https://idp.uni-a.example/idp/shibboleth"} {
				sOne, sErr := mdParseEntity(stream, id, now)
				tOne, tErr := mdParseEntity(tree, id, now)
				sameResult(t, "mdParseEntity "+id, tOne, tErr, sOne, sErr)
			}
		})
	}
}

// sameResult requires equal results, or errors with equal messages, except
// that the stream may report an XML error of the document after an error
// of an entity read before it, or the other way round: both refuse.
func sameResult[T any](t *testing.T, what string, want T, wantErr error, got T, gotErr error) {
	t.Helper()
	if wantErr != nil || gotErr != nil {
		require.Error(t, gotErr, "%s: the tree refused: %v", what, wantErr)
		require.Error(t, wantErr, "%s: the stream refused: %v", what, gotErr)
		if !strings.Contains(wantErr.Error(), "invalid XML") && !strings.Contains(gotErr.Error(), "invalid XML") {
			require.Equal(t, wantErr.Error(), gotErr.Error(), what)
		}
		return
	}
	require.Equal(t, want, got, what)
}
