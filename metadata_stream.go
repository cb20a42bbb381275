package saml2sp

import (
	"errors"
	"io"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Reading unsigned metadata one entity at a time.
//
// A federation aggregate is mostly what an SP never reads: UI names in
// several languages, logos, contacts, organization names, entity
// categories, and the service providers. Built as one etree, a 45 MB
// aggregate of 10,000 IdPs allocates 236 MB and costs more CPU than
// crewjam/saml's xml.Unmarshal of it. So the document is read from an
// xmlsafe.Stream, which applies every rule of the hardened parser to every
// byte, and each EntityDescriptor is built as a small tree holding only
// what mdEntity.identityProvider and the error messages read, which is
// handed on and dropped before the next one is read:
//
//   - the EntityDescriptor with its attributes, and the namespace
//     declarations in scope there (so the detached tree resolves prefixes
//     as the document does);
//   - its child elements with their attributes; the children of its
//     md:IDPSSODescriptor, and nothing else;
//   - of those, everything but the content of md:Extensions.
//
// What is left out is never read by the extraction (it reads the roles by
// name, and the IDPSSODescriptor's children and their content, skipping
// md:Extensions but for its attributes), so the result is the same as
// from the whole tree (TestMetadataStreamMatchesTree).

// mdKeep says what a stream keeps of an open element.
type mdKeep uint8

const (
	mdSkip     mdKeep = iota // outside the entities, or content left out
	mdGroup                  // an EntitiesDescriptor on the way from the root
	mdEntityEl               // the EntityDescriptor: keep child elements
	mdRole                   // the IDPSSODescriptor: keep children, md:Extensions shallow
	mdShallow                // kept with its attributes, content left out
	mdAll                    // kept whole: KeyDescriptor, endpoints, NameIDFormat
)

type mdFrame struct {
	keep     mdKeep
	el       *etree.Element // kept elements
	validity mdValidity     // groups and entities
}

// mdStream reads data with limits and hands visit each EntityDescriptor
// at the document element or inside EntitiesDescriptors, in document
// order, as mdCollect does for a tree.
func mdStream(data []byte, limits xmlsafe.Limits, now time.Time, visit func(mdEntity) error) error {
	s, err := xmlsafe.NewStream(data, limits)
	if err != nil {
		return err
	}
	stack := make([]mdFrame, 0, 16)
	for {
		tok, err := s.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case tok.Start != nil:
			f, err := mdStart(s, stack, tok, now)
			if err != nil {
				return err
			}
			stack = append(stack, f)
		case tok.End:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.keep == mdEntityEl {
				if err := visit(mdEntity{el: f.el, validity: f.validity}); err != nil {
					return err
				}
			}
		default:
			if f := stack[len(stack)-1]; f.keep == mdAll {
				f.el.CreateText(string(tok.Text))
			}
		}
	}
}

// mdStart decides what to keep of the element tok starts inside stack.
func mdStart(s *xmlsafe.Stream, stack []mdFrame, tok xmlsafe.Token, now time.Time) (mdFrame, error) {
	name := tok.Start
	md := s.NamespaceURI(name.Space) == mdNamespace
	if len(stack) == 0 {
		if err := mdCheckRoot(name, s.NamespaceURI(name.Space)); err != nil {
			return mdFrame{}, err
		}
		return mdEnter(s, tok, mdValidity{}, now)
	}
	keep := func(parent *etree.Element, k mdKeep) (mdFrame, error) {
		el := tok.Element()
		parent.AddChild(el)
		return mdFrame{keep: k, el: el}, nil
	}
	parent := stack[len(stack)-1]
	switch parent.keep {
	case mdGroup:
		if md && (name.Tag == "EntityDescriptor" || name.Tag == "EntitiesDescriptor") {
			return mdEnter(s, tok, parent.validity, now)
		}
	case mdEntityEl:
		if md && name.Tag == "IDPSSODescriptor" {
			return keep(parent.el, mdRole)
		}
		return keep(parent.el, mdShallow)
	case mdRole:
		if md && name.Tag == "Extensions" {
			return keep(parent.el, mdShallow)
		}
		return keep(parent.el, mdAll)
	case mdAll:
		return keep(parent.el, mdAll)
	}
	return mdFrame{keep: mdSkip}, nil
}

// mdEnter starts the EntityDescriptor or EntitiesDescriptor (the caller
// checked which) tok starts, under the validity v of its parent.
func mdEnter(s *xmlsafe.Stream, tok xmlsafe.Token, v mdValidity, now time.Time) (mdFrame, error) {
	if tok.Start.Tag == "EntityDescriptor" {
		el := tok.Element()
		s.DeclareInScope(el)
		return mdFrame{keep: mdEntityEl, el: el, validity: v}, nil
	}
	v, err := v.narrowGroup(tok.Start, now)
	if err != nil {
		return mdFrame{}, err
	}
	return mdFrame{keep: mdGroup, validity: v}, nil
}
