package saml2sp_test

// Parsing attacks: ../shared/saml-attacks.md lines 24-31.

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// signedXML mints a default Response (assertion signed) as text.
func (e *testEnv) signedXML(mods ...func(*saml2sptest.Response)) string {
	e.t.Helper()
	b, err := e.idp.ResponseXML(e.response(mods...))
	require.NoError(e.t, err)
	// Drop the XML declaration so tests can put things before the root.
	s := string(b)
	if strings.HasPrefix(s, "<?xml") {
		s = strings.TrimLeft(s[strings.Index(s, "?>")+2:], "\n")
	}
	return s
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// replaceOnce replaces exactly one occurrence of old, failing the test if
// old does not occur exactly once (so a fixture change cannot silently turn
// an attack test into a no-op).
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(s, old), "expected exactly one %q", old)
	return strings.Replace(s, old, new, 1)
}

func TestCommentTruncation(t *testing.T) { // CMT1
	const full = "alice@example.com.evil.com"
	nameIDOf := func(r *saml2sptest.Response) { r.NameID = full }
	tests := []struct {
		name    string
		inject  string // replaces the signed NameID text
		want    string
		wantErr error
	}{
		{"comment in the middle yields the full value", "alice@example.com<!---->.evil.com", full, nil},
		{"comment at the start", "<!-- x -->alice@example.com.evil.com", full, nil},
		{"CDATA split yields the full value", "alice@example.com<![CDATA[.evil.com]]>", full, nil},
		{"processing instruction is rejected", "alice@example.com<?evil x?>.evil.com", "", saml2sp.ErrMalformed},
	}
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newTestEnv(t)
				doc := e.signedXML(nameIDOf, func(r *saml2sptest.Response) { r.Sign = sign })
				doc = replaceOnce(t, doc, ">"+full+"<", ">"+tc.inject+"<")
				a, err := e.parse(b64(doc))
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
					assert.Nil(t, a)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, a.NameID)
			})
		}
	}
}

func TestParserRoundTripTricks(t *testing.T) { // RT1
	tests := []struct {
		name string
		edit func(t *testing.T, doc string) string
	}{
		{"attribute named ::foo", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject ::foo="x">`)
		}},
		{"element named x::E", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject><x::E xmlns:x="urn:x"/>`)
		}},
		{"attribute prefix with empty local name", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject saml:="x">`)
		}},
		{"directive inside the document", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject><!ENTITY x "y">`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			a, err := e.parse(b64(tc.edit(t, e.signedXML())))
			require.ErrorIs(t, err, saml2sp.ErrMalformed)
			assert.Nil(t, a)
		})
	}
}

func TestDoctypeRejected(t *testing.T) { // DTD
	e := newTestEnv(t)
	doc := e.signedXML()
	for _, tc := range []struct{ name, doc string }{
		{"doctype before the root", `<!DOCTYPE Response [<!ENTITY e "x">]>` + doc},
		{"doctype after an xml declaration", `<?xml version="1.0"?><!DOCTYPE Response SYSTEM "http://evil.example/x.dtd">` + doc},
		{"bare doctype", `<!DOCTYPE Response>` + doc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.parse(b64(tc.doc))
			require.ErrorIs(t, err, saml2sp.ErrMalformed)
			assert.ErrorContains(t, err, "DTD")
			assert.Nil(t, a)
		})
	}
	t.Run("plain xml declaration is fine", func(t *testing.T) {
		_, err := e.parse(b64(`<?xml version="1.0" encoding="UTF-8"?>` + doc))
		require.NoError(t, err)
	})
}

func TestNamespaceAbuse(t *testing.T) { // NS
	tests := []struct {
		name    string
		mod     func(*saml2sptest.Response)
		edit    func(t *testing.T, doc string) string
		wantErr error
	}{
		{
			name: "ds prefix redefined to empty",
			edit: func(t *testing.T, d string) string {
				return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject xmlns:ds="">`)
			},
			wantErr: saml2sp.ErrMalformed,
		},
		{
			name: "xml prefix rebound",
			edit: func(t *testing.T, d string) string {
				return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject xmlns:xml="urn:evil">`)
			},
			wantErr: saml2sp.ErrMalformed,
		},
		{
			name: "xmlns prefix declared",
			edit: func(t *testing.T, d string) string {
				return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject xmlns:xmlns="urn:evil">`)
			},
			wantErr: saml2sp.ErrMalformed,
		},
		{
			name: "undeclared prefix",
			edit: func(t *testing.T, d string) string {
				return replaceOnce(t, d, "<saml:Subject>", `<saml:Subject><evil:X/>`)
			},
			wantErr: saml2sp.ErrMalformed,
		},
		{
			// The whole signed document uses a look-alike assertion namespace:
			// the signature is valid, but nothing in it is a SAML Assertion.
			name: "look-alike assertion namespace, validly signed",
			mod: func(r *saml2sptest.Response) {
				r.EditAssertion = func(a *etree.Element) {
					setNamespace(a, "saml", "urn:oasis:names:tc:SAML:2.0:assertion ")
				}
			},
			wantErr: saml2sp.ErrMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			mods := []func(*saml2sptest.Response){}
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			doc := e.signedXML(mods...)
			if tc.edit != nil {
				doc = tc.edit(t, doc)
			}
			a, err := e.parse(b64(doc))
			require.ErrorIs(t, err, tc.wantErr)
			assert.Nil(t, a)
		})
	}
}

// setNamespace binds prefix to uri on el, so el and its descendants that use
// the prefix move to that namespace.
func setNamespace(el *etree.Element, prefix, uri string) {
	for i, a := range el.Attr {
		if a.Space == "xmlns" && a.Key == prefix {
			el.Attr[i].Value = uri
			return
		}
	}
	el.CreateAttr("xmlns:"+prefix, uri)
}

func TestDuplicateSingleElements(t *testing.T) { // CARD
	dupChild := func(parentTag, childTag string) func(*etree.Element) {
		return func(root *etree.Element) {
			parent := root
			if parentTag != root.Tag {
				parent = findTag(root, parentTag)
			}
			child := findTag(parent, childTag)
			clone := child.Copy()
			parent.InsertChildAt(child.Index()+1, clone)
		}
	}
	tests := []struct {
		name   string
		sign   saml2sptest.Sign
		editA  func(*etree.Element)
		editR  func(*etree.Element)
		errCls error
	}{
		{"two Subjects", saml2sptest.SignAssertion, dupChild("Assertion", "Subject"), nil, saml2sp.ErrMalformed},
		{"two NameIDs", saml2sptest.SignAssertion, dupChild("Subject", "NameID"), nil, saml2sp.ErrMalformed},
		{"two assertion Issuers", saml2sptest.SignAssertion, dupChild("Assertion", "Issuer"), nil, saml2sp.ErrMalformed},
		{"two Conditions", saml2sptest.SignAssertion, dupChild("Assertion", "Conditions"), nil, saml2sp.ErrMalformed},
		{"two AuthnStatements", saml2sptest.SignAssertion, dupChild("Assertion", "AuthnStatement"), nil, saml2sp.ErrMalformed},
		{"two Response Issuers", saml2sptest.SignResponse, nil, dupChild("Response", "Issuer"), saml2sp.ErrMalformed},
		{"two Statuses", saml2sptest.SignResponse, nil, dupChild("Response", "Status"), saml2sp.ErrMalformed},
		{"two StatusCodes", saml2sptest.SignResponse, nil, dupChild("Status", "StatusCode"), saml2sp.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
				r.Sign = tc.sign
				r.EditAssertion = tc.editA
				r.EditResponse = tc.editR
			})))
			require.ErrorIs(t, err, tc.errCls)
			assert.Nil(t, a)
		})
	}
}

// findTag returns the first descendant (or el itself) with local name tag.
func findTag(el *etree.Element, tag string) *etree.Element {
	if el.Tag == tag {
		return el
	}
	for _, c := range el.ChildElements() {
		if f := findTag(c, tag); f != nil {
			return f
		}
	}
	return nil
}

func TestEncodings(t *testing.T) { // ENC
	e := newTestEnv(t)
	doc := e.signedXML(func(r *saml2sptest.Response) { r.Attributes = nil })
	utf16 := func(s string) string {
		out := []byte{0xff, 0xfe}
		for _, r := range s {
			out = append(out, byte(r), byte(r>>8))
		}
		return string(out)
	}
	for _, tc := range []struct{ name, doc string }{
		{"ISO-8859-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc},
		{"UTF-16 declared", `<?xml version="1.0" encoding="UTF-16"?>` + doc},
		{"UTF-16 with BOM", utf16(doc)},
		{"UTF-8 BOM", "\xef\xbb\xbf" + doc},
		{"overlong UTF-8 in NameID", replaceOnce(t, doc, ">alice@", ">\xc0\xaealice@")},
		{"invalid UTF-8 byte", replaceOnce(t, doc, ">alice@", ">\xffalice@")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.parse(b64(tc.doc))
			require.ErrorIs(t, err, saml2sp.ErrMalformed)
			assert.Nil(t, a)
		})
	}
}

func TestDeepAndWideDocuments(t *testing.T) { // DEEP
	// 100k siblings take 540 KB encoded: raise the size limit so that the
	// parser's own limits are what refuses them.
	e := newTestEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = 1 << 20 })
	doc := e.signedXML()
	deep := strings.Repeat("<a>", 2000) + strings.Repeat("</a>", 2000)
	wide := strings.Repeat("<a/>", 100000)
	for _, tc := range []struct{ name, doc string }{
		{"2000 levels deep inside Subject", replaceOnce(t, doc, "<saml:Subject>", "<saml:Subject>"+deep)},
		{"100k siblings inside Subject", replaceOnce(t, doc, "<saml:Subject>", "<saml:Subject>"+wide)},
		{"only deep nesting", deep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a, err := e.parse(b64(tc.doc))
			require.ErrorIs(t, err, saml2sp.ErrMalformed)
			assert.Nil(t, a)
			// Not a benchmark: a generous bound that only an unbounded
			// (quadratic or recursive) path would exceed.
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestFormValueBounds(t *testing.T) { // SIZE
	e := newTestEnv(t)
	good := e.mint(e.response())
	wrapped := func(s string, n int) string {
		var b strings.Builder
		for len(s) > n {
			b.WriteString(s[:n] + "\r\n")
			s = s[n:]
		}
		b.WriteString(s)
		return b.String()
	}
	t.Run("10 MB is refused before decoding", func(t *testing.T) {
		_, err := e.parse(strings.Repeat("A", 10<<20))
		require.ErrorIs(t, err, saml2sp.ErrTooLarge)
	})
	t.Run("just over a custom limit", func(t *testing.T) {
		small := newTestEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = len(good) - 1 })
		_, err := small.parse(small.mint(small.response()))
		require.ErrorIs(t, err, saml2sp.ErrTooLarge)
	})
	for _, tc := range []struct{ name, value string }{
		{"not base64", "%%%not base64%%%"},
		{"URL-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(good) + "-_"},
		{"truncated", good[:len(good)-3]},
		{"empty", ""},
		{"base64 of garbage", b64("hello, not xml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.parse(tc.value)
			require.ErrorIs(t, err, saml2sp.ErrMalformed)
		})
	}
	t.Run("line breaks are accepted", func(t *testing.T) {
		a, err := e.parse(wrapped(good, 76))
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", a.NameID)
	})
}
