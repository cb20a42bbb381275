package xmlsafe

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// measures are the quantities Limits bound, as seen in one or more
// documents.
type measures struct {
	attrs, decls, inScope, depth, elements int
}

func (m *measures) max(o measures) {
	m.attrs = max(m.attrs, o.attrs)
	m.decls = max(m.decls, o.decls)
	m.inScope = max(m.inScope, o.inScope)
	m.depth = max(m.depth, o.depth)
	m.elements = max(m.elements, o.elements)
}

// measure computes a document's measures by a plain recursive walk with a
// fresh map per element, independent of the walk under test.
func measure(root *etree.Element) measures {
	var m measures
	var walk func(el *etree.Element, outer map[string]bool, depth int)
	walk = func(el *etree.Element, outer map[string]bool, depth int) {
		m.elements++
		m.depth = max(m.depth, depth)
		m.attrs = max(m.attrs, len(el.Attr))
		scope := map[string]bool{}
		for p := range outer {
			scope[p] = true
		}
		decls := 0
		for _, a := range el.Attr {
			if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
				decls++
				scope[a.Space+":"+a.Key] = true
			}
		}
		m.decls = max(m.decls, decls)
		m.inScope = max(m.inScope, len(scope))
		for _, c := range el.ChildElements() {
			walk(c, scope, depth+1)
		}
	}
	walk(root, nil, 1)
	return m
}

// realDocuments returns the repository's real XML fixtures, grouped into IdP
// metadata and messages (Responses, plain or encrypted, and the assertions
// they were made from).
func realDocuments(t *testing.T) (metadata, messages []string) {
	t.Helper()
	err := filepath.WalkDir("../../testdata", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".xml") {
			return err
		}
		if filepath.Base(filepath.Dir(path)) == "metadata" {
			metadata = append(metadata, path)
		} else {
			messages = append(messages, path)
		}
		return nil
	})
	require.NoError(t, err)
	bench, err := filepath.Glob("../../bench/testdata/signed-*.xml")
	require.NoError(t, err)
	messages = append(messages, bench...)
	require.NotEmpty(t, metadata)
	require.GreaterOrEqual(t, len(messages), 40, "the message fixtures moved?")
	return metadata, messages
}

// TestLimitsCoverRealDocuments parses every real fixture with the limits its
// kind gets and checks that each limit is at least four times the largest
// value seen, so that a new fixture approaching a limit fails here first.
func TestLimitsCoverRealDocuments(t *testing.T) {
	const margin = 4
	metadata, messages := realDocuments(t)
	for _, group := range []struct {
		name   string
		files  []string
		limits Limits
	}{
		{"messages", messages, DefaultLimits},
		{"metadata", metadata, MetadataLimits},
	} {
		t.Run(group.name, func(t *testing.T) {
			var seen measures
			densest := math.MaxInt // fewest bytes per node in one document
			for _, f := range group.files {
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				// Metadata is read as mdEntities does: a UTF-8 BOM is allowed.
				data = []byte(strings.TrimPrefix(string(data), "\xef\xbb\xbf"))
				d, err := Parse(data, group.limits)
				require.NoError(t, err, f)
				seen.max(measure(d.Root()))
				densest = min(densest, len(data)/nodesOf(d.Root()))
			}
			t.Logf("%-26s %8s %8s", "", "densest", "limit")
			t.Logf("%-26s %8d %8d", "BytesPerNode", densest, group.limits.BytesPerNode)
			assert.LessOrEqual(t, margin*group.limits.BytesPerNode, densest,
				"BytesPerNode allows less than %dx the density of a real document", margin)
			l := group.limits
			rows := []struct {
				name        string
				seen, limit int
			}{
				{"MaxAttributes", seen.attrs, l.MaxAttributes},
				{"MaxNamespaceDeclarations", seen.decls, l.MaxNamespaceDeclarations},
				{"MaxNamespacesInScope", seen.inScope, l.MaxNamespacesInScope},
				{"MaxDepth", seen.depth, l.MaxDepth},
				{"MaxElements", seen.elements, l.MaxElements},
			}
			t.Logf("%d %s fixtures", len(group.files), group.name)
			t.Logf("%-26s %8s %8s", "limit", "max seen", "limit")
			for _, r := range rows {
				t.Logf("%-26s %8d %8d", r.name, r.seen, r.limit)
				assert.GreaterOrEqual(t, r.limit, margin*r.seen, "%s is less than %dx the largest value in a real document", r.name, margin)
			}
		})
	}
}

// nodesOf counts what BytesPerNode counts under root: elements, attributes
// (namespace declarations included), comments and CDATA sections.
func nodesOf(root *etree.Element) int {
	n := 0
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n += 1 + len(el.Attr)
		for _, tok := range el.Child {
			switch t := tok.(type) {
			case *etree.Element:
				stack = append(stack, t)
			case *etree.Comment:
				n++
			case *etree.CharData:
				if t.IsCData() {
					n++
				}
			}
		}
	}
	return n
}
