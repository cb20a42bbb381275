package saml2sp_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryExportedNameHasADocComment: every exported function, method,
// type, constant, variable and struct field of the public packages (this
// one, saml2sptest, and the nested modules' packages) has a doc comment.
// A constant or variable in a documented group, a field with a line
// comment, and a field named by the comment over the run of fields it
// belongs to, count as documented.
func TestEveryExportedNameHasADocComment(t *testing.T) {
	for _, dir := range []string{".", "saml2sptest", "redisstore", "pgstore", "otelsaml2sp"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			for _, missing := range undocumented(file) {
				t.Errorf("%s: %s has no doc comment", f, missing)
			}
		}
	}
}

// undocumented lists the exported names of file without a doc comment.
func undocumented(file *ast.File) []string {
	var out []string
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || d.Doc != nil {
				continue
			}
			if d.Recv != nil && !exportedReceiver(d.Recv) {
				continue
			}
			out = append(out, "func "+d.Name.Name)
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					if s.Doc == nil && d.Doc == nil {
						out = append(out, "type "+s.Name.Name)
					}
					if st, ok := s.Type.(*ast.StructType); ok {
						// A comment over a run of fields documents the
						// fields it names ("NameQualifier and
						// SPNameQualifier are ...").
						group := ""
						for _, field := range st.Fields.List {
							if field.Doc != nil {
								group = field.Doc.Text()
							}
							for _, name := range field.Names {
								documented := field.Doc != nil || field.Comment != nil || mentions(group, name.Name)
								if name.IsExported() && !documented {
									out = append(out, "field "+s.Name.Name+"."+name.Name)
								}
							}
						}
					}
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if name.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
							out = append(out, name.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// mentions reports whether comment names name as a word.
func mentions(comment, name string) bool {
	for _, w := range strings.FieldsFunc(comment, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		if w == name {
			return true
		}
	}
	return false
}

// exportedReceiver reports whether a method's receiver type is exported.
func exportedReceiver(recv *ast.FieldList) bool {
	if len(recv.List) == 0 {
		return false
	}
	t := recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}
