package bench

import (
	"bytes"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"testing"
)

// TestContendersAccept shows that every contender accepts every fixture and
// extracts the right NameID, at least three attribute values and all the
// groups. Without it, a benchmark could be timing a rejection.
func TestContendersAccept(t *testing.T) {
	for _, fx := range fixtures(t) {
		for _, c := range contenders {
			t.Run(fx.name+"/"+c.name, func(t *testing.T) {
				_, extract := c.setup(t)
				res, err := extract(fx.form)
				if err != nil {
					t.Fatalf("%s refuses %s: %v", c.name, fx.file, err)
				}
				if res.nameID != fx.nameID {
					t.Errorf("NameID = %q, want %q", res.nameID, fx.nameID)
				}
				if len(fx.attrs) < 3 {
					t.Fatalf("fixture table lists %d attributes; check at least 3", len(fx.attrs))
				}
				for name, want := range fx.attrs {
					if got := res.attr(name); !slices.Equal(got, want) {
						t.Errorf("attribute %q = %q, want %q", name, got, want)
					}
				}
				if res.count != fx.attributes {
					t.Errorf("%d attributes, want %d", res.count, fx.attributes)
				}
				if got := res.attr("groups"); len(got) != fx.groups {
					t.Errorf("groups has %d values, want %d", len(got), fx.groups)
				}
			})
		}
	}
}

var nameIDText = regexp.MustCompile(`(<saml2:NameID[^>]*>)([^<])`)

// TestContendersRefuseTampered changes one character of the signed NameID:
// every contender must refuse it, so the benchmarks above do time a
// signature check and not a parse that trusts the document.
func TestContendersRefuseTampered(t *testing.T) {
	for _, fx := range fixtures(t) {
		tampered := nameIDText.ReplaceAll(fx.raw, []byte("${1}~"))
		if bytes.Equal(tampered, fx.raw) {
			t.Fatalf("%s: no NameID to tamper with", fx.file)
		}
		form := base64.StdEncoding.EncodeToString(tampered)
		for _, c := range contenders {
			t.Run(fx.name+"/"+c.name, func(t *testing.T) {
				check, _ := c.setup(t)
				if err := check(form); err == nil {
					t.Fatalf("%s accepts %s with a changed NameID", c.name, fx.file)
				}
			})
		}
	}
}

// TestFloorsSucceed runs every floor once: each must do its work without
// error (the signature validates, the RSA verification passes).
func TestFloorsSucceed(t *testing.T) {
	for _, fx := range fixtures(t) {
		fl, err := floors(t, fx)
		if err != nil {
			t.Fatalf("%s: %v", fx.name, err)
		}
		for _, f := range fl {
			t.Run(fx.name+"/"+f.name, func(t *testing.T) {
				if err := f.run(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkParse times BenchmarkParse/<fixture>/<contender> and the floors
// (BenchmarkParse/<fixture>/floor-*) on the same base64 SAMLResponse form
// value, and for doubly signed fixtures saml2sp-2sig (bothsig_test.go).
// Setup (building the SP, parsing the document for floor-validate) happens
// before b.Loop and is not timed.
func BenchmarkParse(b *testing.B) {
	for _, fx := range fixtures(b) {
		b.Run(fx.name, func(b *testing.B) {
			for _, c := range contenders {
				b.Run(c.name, func(b *testing.B) {
					check, _ := c.setup(b)
					b.ReportAllocs()
					for b.Loop() {
						if err := check(fx.form); err != nil {
							b.Fatalf("%s refuses %s: %v", c.name, fx.file, err)
						}
					}
				})
			}
			fl, err := floors(b, fx)
			if err != nil {
				b.Fatal(err)
			}
			if f, ok := bothVerified(b, fx); ok {
				fl = append(fl, f)
			}
			for _, f := range fl {
				b.Run(f.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := f.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// TestGosaml2WarningsRefused shows that the gosaml2 contender refuses what
// gosaml2 itself only warns about: with another audience configured,
// RetrieveAssertionInfo succeeds with WarningInfo.NotInAudience set, and the
// contender's check fails.
func TestGosaml2WarningsRefused(t *testing.T) {
	fx := fixtures(t)[0]
	sp := newGosaml2("https://other-sp.example.com/saml/metadata")
	info, err := sp.RetrieveAssertionInfo(fx.form)
	if err != nil {
		t.Fatalf("RetrieveAssertionInfo: %v", err)
	}
	if !info.WarningInfo.NotInAudience {
		t.Fatal("gosaml2 no longer flags the wrong audience in WarningInfo")
	}
	check, _ := gosaml2For(sp)
	if err := check(fx.form); !errors.Is(err, errGosaml2Warning) {
		t.Fatalf("check = %v, want errGosaml2Warning", err)
	}
}
