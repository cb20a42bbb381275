package xmlsafe

import "github.com/beevik/etree"

// scope is the set of namespace bindings in scope during a walk of the
// tree: one map from prefix to URI, and an undo log to restore the parent's
// bindings when an element is left. Entering and leaving an element cost
// time proportional to its own declarations; a lookup is one map access.
type scope struct {
	uris map[string]string // prefix ("" = default) -> URI
	undo []binding
}

// binding is a prefix's previous state, restored when its element is left.
type binding struct {
	prefix, uri string
	bound       bool
}

func newScope() *scope { return &scope{uris: map[string]string{}} }

// mark returns the position to restore to when the element about to be
// declared is left.
func (s *scope) mark() int { return len(s.undo) }

// bind binds prefix to uri, hiding any outer binding until restore.
func (s *scope) bind(prefix, uri string) {
	old, ok := s.uris[prefix]
	s.undo = append(s.undo, binding{prefix, old, ok})
	s.uris[prefix] = uri
}

// restore undoes every bind since mark.
func (s *scope) restore(mark int) {
	for len(s.undo) > mark {
		b := s.undo[len(s.undo)-1]
		s.undo = s.undo[:len(s.undo)-1]
		if b.bound {
			s.uris[b.prefix] = b.uri
		} else {
			delete(s.uris, b.prefix)
		}
	}
}

// declared reports whether prefix is bound to a namespace. A prefix bound to
// "" (refused elsewhere) counts as undeclared.
func (s *scope) declared(prefix string) bool { return s.uris[prefix] != "" }

// size is the number of distinct prefixes in scope, the default included.
func (s *scope) size() int { return len(s.uris) }

// declaredPrefix returns the prefix a namespace declaration binds ("" for
// the default namespace), and false for any other attribute.
func declaredPrefix(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}
