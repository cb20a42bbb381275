package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// tokenizer reads the tokens of a document the way encoding/xml's
// Decoder.RawToken does with the settings Parse gives it (Strict, no
// Entity map, a CharsetReader that refuses every charset): it accepts the
// same input and yields the same tokens, up to the first directive (which
// every caller refuses). TestTokenizerAgreesWithEncodingXML and
// FuzzTokenizerAgreesWithEncodingXML hold it to that, token by token.
//
// It exists for speed: encoding/xml reads one byte at a time through an
// interface and allocates every name and every text, which makes it most
// of the cost of reading a federation's aggregate. Here the input is a
// byte slice, names are interned, and text without references or carriage
// returns is a view of the input. The input must be valid UTF-8 (NewStream
// checks it first); encoding/xml refuses anything else too.
type tokenizer struct {
	data []byte
	pos  int
	err  error
	// text holds decoded character data when it differs from the input
	// (references, carriage returns); reused.
	text []byte
	// names interns element and attribute names (an aggregate repeats a
	// few dozen); it stops growing at maxInterned.
	names map[string]string
	attrs []etree.Attr // the attributes of the last start tag; reused
	// closing is the end tag that an empty-element tag (<a/>) owes.
	closing *rawToken
	end     rawToken
}

// maxInterned bounds the interned names: a hostile document may use a new
// name for every element.
const maxInterned = 1024

type tokenKind uint8

const (
	tokStart tokenKind = iota + 1
	tokEnd
	tokText
	tokComment
	tokProcInst
	tokDirective
)

// rawToken is one token; its attrs and data are valid until the next one.
type rawToken struct {
	kind         tokenKind
	space, local string       // start and end tags; local is a PI's target
	attrs        []etree.Attr // start tags
	data         []byte       // text, a comment's content, a PI's instruction
}

func newTokenizer(data []byte) *tokenizer {
	return &tokenizer{data: data, names: map[string]string{}}
}

// syntaxError is the error of input encoding/xml refuses.
type syntaxError struct{ msg string }

// Error implements error.
func (e *syntaxError) Error() string { return "XML syntax error: " + e.msg }

func (z *tokenizer) fail(msg string) (rawToken, error) {
	z.err = &syntaxError{msg}
	return rawToken{}, z.err
}

// next returns the next token, or io.EOF at the end of the input.
func (z *tokenizer) next() (rawToken, error) {
	if z.err != nil {
		return rawToken{}, z.err
	}
	if z.closing != nil {
		t := *z.closing
		z.closing = nil
		return t, nil
	}
	if z.pos >= len(z.data) {
		z.err = io.EOF
		return rawToken{}, io.EOF
	}
	if z.data[z.pos] != '<' {
		data, err := z.chars(-1, false)
		if err != nil {
			return z.fail(err.Error())
		}
		return rawToken{kind: tokText, data: data}, nil
	}
	z.pos++
	b, ok := z.must()
	if !ok {
		return z.fail("unexpected EOF")
	}
	switch b {
	case '/':
		space, local, ok := z.nsname()
		if !ok {
			return z.fail("expected element name after </")
		}
		z.space()
		if b, ok := z.must(); !ok || b != '>' {
			return z.fail("invalid characters between </" + local + " and >")
		}
		return rawToken{kind: tokEnd, space: space, local: local}, nil
	case '?':
		return z.procInst()
	case '!':
		return z.bang()
	}
	z.pos--
	return z.startTag()
}

// must reads one byte; false at the end of the input.
func (z *tokenizer) must() (byte, bool) {
	if z.pos >= len(z.data) {
		return 0, false
	}
	b := z.data[z.pos]
	z.pos++
	return b, true
}

// space skips XML white space.
func (z *tokenizer) space() {
	for z.pos < len(z.data) {
		switch z.data[z.pos] {
		case ' ', '\r', '\n', '\t':
			z.pos++
		default:
			return
		}
	}
}

func (z *tokenizer) startTag() (rawToken, error) {
	space, local, ok := z.nsname()
	if !ok {
		return z.fail("expected element name after <")
	}
	attrs := z.attrs[:0]
	for {
		z.space()
		b, ok := z.must()
		if !ok {
			return z.fail("unexpected EOF")
		}
		if b == '/' {
			if b, ok := z.must(); !ok || b != '>' {
				return z.fail("expected /> in element")
			}
			z.end = rawToken{kind: tokEnd, space: space, local: local}
			z.closing = &z.end
			break
		}
		if b == '>' {
			break
		}
		z.pos--
		aspace, alocal, ok := z.nsname()
		if !ok {
			return z.fail("expected attribute name in element")
		}
		z.space()
		if b, ok := z.must(); !ok || b != '=' {
			return z.fail("attribute name without = in element")
		}
		z.space()
		q, ok := z.must()
		if !ok || q != '"' && q != '\'' {
			return z.fail("unquoted or missing attribute value in element")
		}
		value, err := z.chars(int(q), false)
		if err != nil {
			return z.fail(err.Error())
		}
		attrs = append(attrs, etree.Attr{Space: aspace, Key: alocal, Value: string(value)})
	}
	z.attrs = attrs
	return rawToken{kind: tokStart, space: space, local: local, attrs: attrs}, nil
}

// procInst reads a processing instruction after "<?", checking an XML
// declaration's version and encoding as encoding/xml does.
func (z *tokenizer) procInst() (rawToken, error) {
	target, ok := z.name()
	if !ok {
		return z.fail("expected target name after <?")
	}
	z.space()
	k := bytes.Index(z.data[z.pos:], []byte("?>"))
	if k < 0 {
		z.pos = len(z.data)
		return z.fail("unexpected EOF")
	}
	inst := z.data[z.pos : z.pos+k]
	z.pos += k + 2
	if target == "xml" {
		content := string(inst)
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return z.fail("unsupported version " + strconv.Quote(ver))
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return z.fail("encoding " + strconv.Quote(enc) + " is not allowed, only UTF-8")
		}
	}
	return rawToken{kind: tokProcInst, local: target, data: inst}, nil
}

// bang reads what follows "<!": a comment, a CDATA section, or the start
// of a directive, which is returned at once (every caller refuses it).
func (z *tokenizer) bang() (rawToken, error) {
	b, ok := z.must()
	if !ok {
		return z.fail("unexpected EOF")
	}
	switch b {
	case '-':
		if b, ok := z.must(); !ok || b != '-' {
			return z.fail("invalid sequence <!- not part of <!--")
		}
		// The first "--" in the content must be the end, "-->".
		k := bytes.Index(z.data[z.pos:], []byte("--"))
		if k < 0 || z.pos+k+2 >= len(z.data) {
			z.pos = len(z.data)
			return z.fail("unexpected EOF")
		}
		if z.data[z.pos+k+2] != '>' {
			return z.fail(`invalid sequence "--" not allowed in comments`)
		}
		data := z.data[z.pos : z.pos+k]
		z.pos += k + 3
		return rawToken{kind: tokComment, data: data}, nil
	case '[':
		for i := range len("CDATA[") {
			if b, ok := z.must(); !ok || b != "CDATA["[i] {
				return z.fail("invalid <![ sequence")
			}
		}
		data, err := z.chars(-1, true)
		if err != nil {
			return z.fail(err.Error())
		}
		return rawToken{kind: tokText, data: data}, nil
	}
	return rawToken{kind: tokDirective}, nil
}

// chars reads character data as encoding/xml's Decoder.text does: text up
// to "<" (quote < 0), an attribute value up to its quote, or a CDATA
// section up to "]]>"; references decoded (not in CDATA), CR and CRLF
// turned into LF, and every character checked against XML's Char range.
// The result is a view of the input when nothing was decoded.
func (z *tokenizer) chars(quote int, cdata bool) ([]byte, error) {
	start := z.pos
	out := z.text[:0]
	copying := false // out holds the data so far, which differs from the input
	var b0, b1 byte  // the two bytes before, for "]]>" and CRLF
	for z.pos < len(z.data) {
		b := z.data[z.pos]
		if quote < 0 && b0 == ']' && b1 == ']' && b == '>' {
			if cdata {
				z.pos++
				end := z.pos - 3
				if copying {
					out = out[:len(out)-2]
					z.text = out
					return out, nil
				}
				return z.data[start:end], nil
			}
			return nil, errors.New("unescaped ]]> not in CDATA section")
		}
		switch {
		case b == '<' && !cdata:
			if quote >= 0 {
				return nil, errors.New("unescaped < inside quoted string")
			}
			return z.result(start, out, copying), nil
		case quote >= 0 && b == byte(quote):
			data := z.result(start, out, copying)
			z.pos++
			return data, nil
		case b == '&' && !cdata:
			if !copying {
				out, copying = append(out, z.data[start:z.pos]...), true
			}
			var err error
			if out, err = z.reference(out); err != nil {
				return nil, err
			}
			b0, b1 = 0, 0
			continue
		case b == '\r':
			if !copying {
				out, copying = append(out, z.data[start:z.pos]...), true
			}
			out = append(out, '\n')
		case b1 == '\r' && b == '\n':
			// CRLF: the LF was written for the CR.
		default:
			if err := z.checkChar(b); err != nil {
				return nil, err
			}
			if copying {
				out = append(out, b)
			}
		}
		z.pos++
		b0, b1 = b1, b
	}
	if cdata {
		return nil, errors.New("unexpected EOF in CDATA section")
	}
	if quote >= 0 {
		return nil, errors.New("unexpected EOF")
	}
	return z.result(start, out, copying), nil
}

// result is the character data read since start: out when copying, else
// the input itself.
func (z *tokenizer) result(start int, out []byte, copying bool) []byte {
	if copying {
		z.text = out
		return out
	}
	return z.data[start:z.pos]
}

// checkChar refuses, at z.pos, a byte that starts a character outside
// XML's Char range: C0 controls other than tab, LF and CR, and U+FFFE and
// U+FFFF (the input is valid UTF-8, so nothing else is out of range).
func (z *tokenizer) checkChar(b byte) error {
	switch {
	case b < 0x20 && b != '\t' && b != '\n' && b != '\r':
		return errors.New("illegal character code " + strconv.QuoteRune(rune(b)))
	case b == 0xEF && z.pos+2 < len(z.data) && z.data[z.pos+1] == 0xBF && (z.data[z.pos+2] == 0xBE || z.data[z.pos+2] == 0xBF):
		return errors.New("illegal character code U+FFFE or U+FFFF")
	}
	return nil
}

// reference decodes the reference at z.pos ("&...;") onto out: one of
// the five predefined entities or a character reference.
func (z *tokenizer) reference(out []byte) ([]byte, error) {
	z.pos++ // &
	if z.pos < len(z.data) && z.data[z.pos] == '#' {
		z.pos++
		base := 10
		if z.pos < len(z.data) && z.data[z.pos] == 'x' {
			base = 16
			z.pos++
		}
		digits := z.pos
		for z.pos < len(z.data) && isDigit(z.data[z.pos], base) {
			z.pos++
		}
		if z.pos >= len(z.data) {
			return nil, errors.New("unexpected EOF")
		}
		if z.data[z.pos] != ';' {
			return nil, errors.New("invalid character entity (no semicolon)")
		}
		n, err := strconv.ParseUint(string(z.data[digits:z.pos]), base, 64)
		z.pos++
		if err != nil || n > utf8.MaxRune {
			return nil, errors.New("invalid character entity")
		}
		r := rune(n)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError // what string(rune(n)) gives for a surrogate
		}
		if !inCharRange(r) {
			return nil, errors.New("illegal character code " + strconv.QuoteRune(r))
		}
		return utf8.AppendRune(out, r), nil
	}
	name := z.pos
	for z.pos < len(z.data) && (z.data[z.pos] >= utf8.RuneSelf || isNameByte(z.data[z.pos])) {
		z.pos++
	}
	if z.pos >= len(z.data) {
		return nil, errors.New("unexpected EOF")
	}
	if z.data[z.pos] != ';' {
		return nil, errors.New("invalid character entity (no semicolon)")
	}
	var r byte
	switch string(z.data[name:z.pos]) {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		return nil, errors.New("invalid character entity &" + string(z.data[name:z.pos]) + ";")
	}
	z.pos++
	return append(out, r), nil
}

func isDigit(b byte, base int) bool {
	return '0' <= b && b <= '9' || base == 16 && ('a' <= b && b <= 'f' || 'A' <= b && b <= 'F')
}

// inCharRange is encoding/xml's isInCharacterRange: XML 1.0's Char.
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// isNameByte is encoding/xml's: the ASCII bytes a name may hold.
func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// name reads an XML name as encoding/xml's Decoder.name does: the bytes
// that may be part of one, then a check of the whole against XML's name
// characters. It returns the name interned.
func (z *tokenizer) name() (string, bool) {
	start := z.pos
	ascii := true
	for z.pos < len(z.data) {
		b := z.data[z.pos]
		if b >= utf8.RuneSelf {
			ascii = false
		} else if !isNameByte(b) {
			break
		}
		z.pos++
	}
	raw := z.data[start:z.pos]
	if len(raw) == 0 {
		return "", false
	}
	if ascii {
		// encoding/xml's tables, for ASCII: a letter, '_' or ':' first.
		if c := raw[0]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
			return "", false
		}
	} else if !isNameSlow(raw) {
		return "", false
	}
	if s, ok := z.names[string(raw)]; ok {
		return s, true
	}
	s := string(raw)
	if len(z.names) < maxInterned {
		z.names[s] = s
	}
	return s, true
}

// isNameSlow asks encoding/xml itself whether raw, which holds non-ASCII
// bytes, is an XML name: its character tables are not exported, and such
// names are rare.
func isNameSlow(raw []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(append(append([]byte("<?"), raw...), "?>"...)))
	tok, err := d.RawToken()
	pi, ok := tok.(xml.ProcInst)
	return err == nil && ok && pi.Target == string(raw)
}

// nsname reads a name and splits it at its colon as encoding/xml does: a
// name with more than one colon is refused, one with a colon at either end
// is all local name.
func (z *tokenizer) nsname() (space, local string, ok bool) {
	s, ok := z.name()
	if !ok {
		return "", "", false
	}
	if strings.Count(s, ":") > 1 {
		return "", "", false
	}
	if sp, lo, found := strings.Cut(s, ":"); found && sp != "" && lo != "" {
		return z.intern(sp), z.intern(lo), true
	}
	return "", s, true
}

// intern returns the interned copy of s when there is one.
func (z *tokenizer) intern(s string) string {
	if t, ok := z.names[s]; ok {
		return t
	}
	if len(z.names) < maxInterned {
		z.names[s] = s
	}
	return s
}

// procInstParam is encoding/xml's procInst: the value of param in an XML
// declaration's content, read as loosely as encoding/xml reads it.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}
