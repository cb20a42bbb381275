package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// xmlTokens lists the tokens encoding/xml's RawToken reads from data with
// Parse's settings, up to the first directive (which every caller refuses
// and the tokenizer does not read further), and whether it then failed.
func xmlTokens(data []byte) ([]string, bool) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = refuseCharset
	var out []string
	for {
		t, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			return out, false
		}
		switch t := t.(type) {
		case xml.StartElement:
			s := fmt.Sprintf("start %q %q", t.Name.Space, t.Name.Local)
			for _, a := range t.Attr {
				s += fmt.Sprintf(" %q %q %q", a.Name.Space, a.Name.Local, a.Value)
			}
			out = append(out, s)
		case xml.EndElement:
			out = append(out, fmt.Sprintf("end %q %q", t.Name.Space, t.Name.Local))
		case xml.CharData:
			out = append(out, fmt.Sprintf("text %q", t))
		case xml.Comment:
			out = append(out, fmt.Sprintf("comment %q", t))
		case xml.ProcInst:
			out = append(out, fmt.Sprintf("pi %q %q", t.Target, t.Inst))
		case xml.Directive:
			return append(out, "directive"), true
		}
	}
}

// ourTokens is xmlTokens for the tokenizer.
func ourTokens(data []byte) ([]string, bool) {
	z := newTokenizer(data)
	var out []string
	for {
		t, err := z.next()
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			return out, false
		}
		switch t.kind {
		case tokStart:
			s := fmt.Sprintf("start %q %q", t.space, t.local)
			for _, a := range t.attrs {
				s += fmt.Sprintf(" %q %q %q", a.Space, a.Key, a.Value)
			}
			out = append(out, s)
		case tokEnd:
			out = append(out, fmt.Sprintf("end %q %q", t.space, t.local))
		case tokText:
			out = append(out, fmt.Sprintf("text %q", t.data))
		case tokComment:
			out = append(out, fmt.Sprintf("comment %q", t.data))
		case tokProcInst:
			out = append(out, fmt.Sprintf("pi %q %q", t.local, t.data))
		case tokDirective:
			return append(out, "directive"), true
		}
	}
}

// sameTokens requires the tokenizer to read data exactly as encoding/xml
// does: the same tokens, and an error at the same point. After a
// directive, encoding/xml may still fail where the tokenizer stopped.
func sameTokens(t *testing.T, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		return // NewStream refuses it before the tokenizer runs
	}
	want, wantOK := xmlTokens(data)
	got, gotOK := ourTokens(data)
	if n := len(got); n > 0 && got[n-1] == "directive" && (len(want) == n-1 || len(want) == n && want[n-1] == "directive") {
		require.True(t, slices.Equal(got[:n-1], want[:n-1]), "want %q\n got %q", want, got)
		return
	}
	require.Equal(t, want, got)
	require.Equal(t, wantOK, gotOK, "encoding/xml accepts: %v", wantOK)
}

var tokenizerCorpus = []string{
	``, `<a/>`, `<a></a>`, `<a >x</a >`, `<a/ >`, `< a/>`, `</ a>`, `<a></ a>`, `<a><`, `<`, `<a`, `<a b`, `<a b=`, `<a b="`, `<a b="1`,
	`<a b="1"c='2'/>`, `<a b = "1" />`, `<a b=1/>`, `<a b/>`, `<a b="<"/>`, `<a b="]]>"/>`, `<a b="'"  c='"'/>`,
	`<p:a xmlns:p="urn:p" p:b="x"/>`, `<:a/>`, `<a:/>`, `<a:b:c/>`, `<a b:c:d="1"/>`, `<1a/>`, `<-a/>`, `<_a.b-c/>`, `<a b.c-d_e="1"/>`,
	`<é/>`, `<aé b·="1"/>`, `<a·/>`, `<·a/>`, "<a\u0301/>", "<\u0301a/>", `<日本:語 xmlns:日本="urn:x"/>`, "<a\u00d7/>",
	`<a>x &amp; &lt;&gt;&apos;&quot;</a>`, `<a>&#65;&#x41;&#X41;</a>`, `<a>&#65</a>`, `<a>&#;</a>`, `<a>&#x;</a>`, `<a>&;</a>`, `<a>& </a>`,
	`<a>&amp</a>`, `<a>&nbsp;</a>`, `<a>&é;</a>`, `<a>&#0;</a>`, `<a>&#x9;&#xA;&#xD;</a>`, `<a>&#x1F;</a>`, `<a>&#xD800;</a>`, `<a>&#xFFFE;</a>`,
	`<a>&#xFFFD;&#x10000;&#x10FFFF;</a>`, `<a>&#x110000;</a>`, `<a>&#99999999999999999999999;</a>`, `<a>&#000065;</a>`, `<a b="&amp;&#65;&lt;"/>`,
	`<a b="&x;"/>`, "<a>a\rb\r\nc\n\rd\r\r\ne</a>", "<a b=\"a\rb\r\nc\"/>", "<a>&amp;\r\n</a>", "<a>\r&amp;\n</a>", "<a>x\r</a>", "\r\n<a/>\r",
	`<a>]]></a>`, `<a>]] ></a>`, `<a>]]&gt;</a>`, `<a>]&amp;]></a>`, `<a>]]]></a>`, `]]><a/>`,
	`<a><![CDATA[x<y&z]]></a>`, `<a><![CDATA[]]></a>`, `<a><![CDATA[a]]]]></a>`, `<a><![CDATA[x]]`, `<a><![CDATA[x</a>`, `<a><![CDAT[x]]></a>`,
	"<a><![CDATA[a\rb\r\nc]]></a>", "<a><![CDATA[\x01]]></a>", `<a><![CDATA[]]]></a>`,
	`<a><!--x--></a>`, `<a><!----></a>`, `<a><!---></a>`, `<a><!-- - --></a>`, `<a><!-- -- --></a>`, `<a><!-- --- --></a>`, `<a><!--x--->`, `<a><!-x--></a>`, `<!--`, `<!--x--`,
	"<a><!-- \x01 --></a>",
	`<?xml version="1.0"?><a/>`, `<?xml version="1.1"?><a/>`, `<?xml version='1.0' encoding='utf-8'?><a/>`, `<?xml encoding="UTF-8" version="1.0"?><a/>`,
	`<?xml version="1.0" encoding="latin1"?><a/>`, `<?xml encoding=utf-8?><a/>`, `<?xml?><a/>`, `<?xml ?><a/>`, `<?xml version="1.0"`, `<?xml-stylesheet a?><a/>`,
	`<?x?y?><a/>`, `<??><a/>`, `<?1x?><a/>`, `<a><?pi data?></a>`, `<?xml versionx="2.0" version="1.0"?><a/>`, `<?xml version=1.0?><a/>`,
	`<!DOCTYPE a><a/>`, `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, `<!a>`, `<!>`, `<![x]><a/>`,
	"<a>\x00</a>", "<a>\x08\x0b\x0c\x1f</a>", "<a>\t\n</a>", "<a b=\"\x01\"/>", "<a>\u007f\u0085\ufffd</a>", "<a>\ufffe</a>", "<a b=\"\uffff\"/>",
	"<a>\U0001F600</a>", "x<a/>", " <a/> ", "<a/>x", "<a/><b/>", "<a>\n  <b c='d'/>\n</a>",
}

// TestTokenizerAgreesWithEncodingXML: the tokenizer reads every document
// of the corpus, and every real document of the repository, as
// encoding/xml's RawToken does.
func TestTokenizerAgreesWithEncodingXML(t *testing.T) {
	for _, doc := range tokenizerCorpus {
		t.Run(fmt.Sprintf("%q", doc), func(t *testing.T) { sameTokens(t, []byte(doc)) })
	}
	for _, tc := range streamCorpus {
		t.Run(tc.name, func(t *testing.T) { sameTokens(t, []byte(tc.doc)) })
	}
	metadata, messages := realDocuments(t)
	for _, f := range append(metadata, messages...) {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			sameTokens(t, []byte(strings.TrimPrefix(string(data), "\xef\xbb\xbf")))
		})
	}
	sameTokens(t, harmlessDoc(64<<10))
}

// TestTokenizerInternsNamesUpToABound: a document of ever new names does
// not grow the interned set without bound.
func TestTokenizerInternsNamesUpToABound(t *testing.T) {
	var b strings.Builder
	b.WriteString("<a>")
	for i := range 3 * maxInterned {
		fmt.Fprintf(&b, `<n%d x%d="v"/>`, i, i)
	}
	b.WriteString("</a>")
	got, ok := ourTokens([]byte(b.String()))
	require.True(t, ok)
	require.Len(t, got, 2+2*3*maxInterned)
	z := newTokenizer([]byte(b.String()))
	for {
		if _, err := z.next(); err != nil {
			break
		}
	}
	require.LessOrEqual(t, len(z.names), maxInterned)
}

// FuzzTokenizerAgreesWithEncodingXML: on any input, the tokenizer reads
// what encoding/xml's RawToken reads.
func FuzzTokenizerAgreesWithEncodingXML(f *testing.F) {
	for _, doc := range tokenizerCorpus {
		f.Add([]byte(doc))
	}
	for _, tc := range streamCorpus {
		f.Add([]byte(tc.doc))
	}
	f.Add(harmlessDoc(2000))
	f.Fuzz(func(t *testing.T, data []byte) { sameTokens(t, data) })
}
