package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// TestWorstCaseInputs checks, once, what every input of BenchmarkWorstCase
// comes to, so that the benchmark loop need not: each hostile input is
// refused with its error class, each genuine one accepted, each login
// start starts a login; every input is at least 90% of the size its limit
// allows and within it; and every document the SP parses stays within the
// parse limits (those of the library, and the pending ones of
// worst_limits_test.go), so that it is refused by the checks it is meant
// to reach and not by the parser.
func TestWorstCaseInputs(t *testing.T) {
	w, cases := worstCases(t)
	for _, c := range cases {
		t.Run(c.endpoint+"/"+c.name, func(t *testing.T) {
			t.Logf("size %d of %d", c.size, c.maxSize)
			minSize := c.minSize
			if minSize == 0 {
				minSize = c.maxSize * 9 / 10
			}
			if c.size > c.maxSize || (!strings.HasSuffix(c.name, "-small") && c.size < minSize) {
				t.Errorf("size %d, want at most %d and at least %d", c.size, c.maxSize, minSize)
			}
			for _, doc := range c.docs {
				if err := checkDocLimits(doc, c.lim); err != nil {
					t.Errorf("document exceeds the limits: %v", err)
				}
				libLimits := xmlsafe.DefaultLimits
				if c.target == "metadata" {
					libLimits = xmlsafe.MetadataLimits
				}
				if _, err := xmlsafe.Parse(doc, libLimits); err != nil {
					t.Errorf("xmlsafe.Parse refuses the document: %v", err)
				}
			}
			if c.target == "login" {
				checkLoginInput(t, c)
			}
			var o outcome
			w.runner(c, &o)()
			switch {
			case c.target == "login":
				if o.status/100 != 3 || !strings.HasPrefix(o.location, w.idp.SSOURL) || o.err != nil {
					t.Errorf("login start answered %d, Location %q, error %v; want a redirect to the IdP", o.status, o.location, o.err)
				}
			case c.want == nil:
				if !o.ok || o.err != nil {
					t.Errorf("genuine input refused (status %d): %v", o.status, o.err)
				}
			default:
				if o.ok || o.err == nil {
					t.Fatalf("hostile input accepted (status %d)", o.status)
				}
				matched := false
				for _, want := range c.want {
					matched = matched || errors.Is(o.err, want)
				}
				if !matched {
					t.Errorf("refused with %v, want one of %v", o.err, c.want)
				}
				if c.target != "metadata" && o.status/100 != 4 {
					t.Errorf("answered %d, want a 4xx", o.status)
				}
			}
		})
	}
}

// checkDocLimits walks doc (a plain etree parse) and reports the first
// limit of lim it reaches: depth, elements, attributes or namespace
// declarations on one element, prefixes in scope. The generators aim
// just under each.
func checkDocLimits(doc []byte, lim docLimits) error {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return err
	}
	elements := 0
	var walk func(el *etree.Element, depth int, scope map[string]bool) error
	walk = func(el *etree.Element, depth int, scope map[string]bool) error {
		elements++
		if depth >= lim.maxDepth {
			return fmt.Errorf("element %s at depth %d (limit %d)", el.FullTag(), depth, lim.maxDepth)
		}
		if len(el.Attr) >= lim.maxAttributes {
			return fmt.Errorf("%s has %d attributes (limit %d)", el.FullTag(), len(el.Attr), lim.maxAttributes)
		}
		decls := 0
		inner := scope
		for _, a := range el.Attr {
			if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
				decls++
				if inner[a.Key] {
					continue
				}
				if len(inner) == len(scope) {
					inner = make(map[string]bool, len(scope)+1)
					for k := range scope {
						inner[k] = true
					}
				}
				inner[a.Key] = true
			}
		}
		if decls >= lim.maxNSDecl {
			return fmt.Errorf("%s declares %d namespaces (limit %d)", el.FullTag(), decls, lim.maxNSDecl)
		}
		if len(inner) >= lim.maxNSInScope {
			return fmt.Errorf("%s has %d prefixes in scope (limit %d)", el.FullTag(), len(inner), lim.maxNSInScope)
		}
		for _, c := range el.ChildElements() {
			if err := walk(c, depth+1, inner); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Root(), 1, map[string]bool{}); err != nil {
		return err
	}
	if elements >= lim.maxElements {
		return fmt.Errorf("%d elements (limit %d)", elements, lim.maxElements)
	}
	return nil
}

// checkLoginInput shows that a login start's cookies and query stay under
// net/http's and net/url's caps, so that the handler does see them: a
// header over goMaxCookies cookies would read as none at all.
func checkLoginInput(t *testing.T, c *worstCase) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.req)))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header.Get("Cookie"); h != "" {
		if got, want := len(r.Cookies()), strings.Count(h, ";")+1; got != want || got < goMaxCookies-1 {
			t.Errorf("the handler sees %d of %d cookies, want %d", got, want, goMaxCookies-1)
		}
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("query refused by net/url: %v", err)
	}
	if strings.Contains(c.name, "params") && len(r.Form) != goMaxQueryParams-1 {
		t.Errorf("%d query parameters, want %d", len(r.Form), goMaxQueryParams-1)
	}
}
