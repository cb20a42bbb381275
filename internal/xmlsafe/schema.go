package xmlsafe

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// Reading a checked tree the way a schema describes it. The SAML, XML-DSig
// and XML Encryption readers all share these, so every one of them matches
// elements by namespace URI (never by prefix), refuses stray text between
// elements, and refuses a second copy of a single-occurrence element.

// Is reports whether el is the element {ns}local, matching the namespace
// URI, never the prefix (CVE-2025-25292 was a prefix match).
func Is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// Children returns el's child elements, refusing non-white-space text
// between them.
func Children(el *etree.Element) ([]*etree.Element, error) {
	out := make([]*etree.Element, 0, len(el.Child))
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return nil, fmt.Errorf("unexpected text inside %s", el.Tag)
			}
		}
	}
	return out, nil
}

// Step is one position in a schema sequence; several names form a choice.
// Max < 0 means unbounded.
type Step struct {
	NS    string   // the namespace every name of the step is in
	Names []string // the local names the step accepts
	// Min and Max bound how many elements in a row the step takes.
	Min, Max int
}

// One is a required, single element.
func One(ns, name string) Step { return Step{ns, []string{name}, 1, 1} }

// Optional is an element that occurs at most once.
func Optional(ns, name string) Step { return Step{ns, []string{name}, 0, 1} }

// Many is any number of elements, in any order among names.
func Many(ns string, names ...string) Step { return Step{ns, names, 0, -1} }

func (s Step) matches(el *etree.Element) bool {
	if el.NamespaceURI() != s.NS {
		return false
	}
	for _, n := range s.Names {
		if el.Tag == n {
			return true
		}
	}
	return false
}

// Sequence checks that el's children follow a schema sequence: each child
// matches one of the steps, steps appear in order, and each step occurs
// between Min and Max times. It returns the children grouped by step.
// Anything else is an error, including a second copy of a single-occurrence
// element: a duplicate Subject or EncryptionMethod is an attack on some
// reader, never something to resolve by taking the first.
func Sequence(el *etree.Element, steps ...Step) ([][]*etree.Element, error) {
	kids, err := Children(el)
	if err != nil {
		return nil, err
	}
	groups := make([][]*etree.Element, len(steps))
	pos := 0
	for _, k := range kids {
		for pos < len(steps) && !steps[pos].matches(k) {
			pos++
		}
		if pos == len(steps) {
			return nil, fmt.Errorf("unexpected or out-of-order element %s inside %s", k.Tag, el.Tag)
		}
		groups[pos] = append(groups[pos], k)
		if s := steps[pos]; s.Max >= 0 && len(groups[pos]) > s.Max {
			return nil, fmt.Errorf("%s has more than %d %s", el.Tag, s.Max, k.Tag)
		}
	}
	for i, s := range steps {
		if len(groups[i]) < s.Min {
			return nil, fmt.Errorf("%s has no %s", el.Tag, s.Names[0])
		}
	}
	return groups, nil
}
