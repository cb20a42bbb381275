package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runFixture runs `go test -json` on testdata/fixture, a module of its own
// with one test of each outcome, with env added to the environment.
func runFixture(t *testing.T, env ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "-json", ".")
	cmd.Dir = filepath.Join("testdata", "fixture")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("go test -json: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("go test -json printed nothing")
	}
	return out
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		want      []string // in this order
		wantNot   []string
		wantSkips []skip
	}{
		{
			name: "all pass",
			want: []string{"ok  \tfixture\t"},
			wantNot: []string{
				"PASSING-TEST-LOG", "PRINTED-BY-PASSING-PARALLEL", "=== RUN", "=== PAUSE", "=== CONT",
				"--- PASS", "SKIP-MESSAGE", "--- SKIP", "FAIL", "PASS\n",
			},
			wantSkips: []skip{
				{Module: "./fixture", Package: "fixture", Test: "TestSkips", Message: []string{"fixture_test.go:16: SKIP-MESSAGE: xmlsec1 not found"}},
				{Module: "./fixture", Package: "fixture", Test: "TestSubtests/a", Message: []string{"fixture_test.go:22: SUBTEST-SKIP same for all"}},
				{Module: "./fixture", Package: "fixture", Test: "TestSubtests/b", Message: []string{"fixture_test.go:22: SUBTEST-SKIP same for all"}},
				{Module: "./fixture", Package: "fixture", Test: "TestParallelSkip/x", Message: []string{"fixture_test.go:43: PARALLEL-SKIP"}},
			},
		},
		{
			name: "failures nest as in a plain go test",
			env:  []string{"TESTSUM_FIXTURE_FAIL=1"},
			want: []string{
				"--- FAIL: TestFails (", "\n    --- FAIL: TestFails/inner (",
				"\n        fixture_test.go:33: FAILING-SUBTEST-ERROR", "\n    fixture_test.go:35: FAILING-PARENT-LOG\n",
				"--- FAIL: TestFailsDeep (", "\n    --- FAIL: TestFailsDeep/a (", "\n        --- FAIL: TestFailsDeep/a/b (",
				"\n            fixture_test.go:53: DEEP-ERROR", "\n        fixture_test.go:55: MIDDLE-LOG\n",
				"FAIL\tfixture\t",
			},
			wantNot: []string{"PASSING-TEST-LOG", "=== RUN", "SKIP-MESSAGE"},
		},
		{
			name:    "a panic shows the test's output and the stack",
			env:     []string{"TESTSUM_FIXTURE_PANIC=1"},
			want:    []string{"--- FAIL: TestPanics (", "BEFORE-PANIC", "panic: FIXTURE-PANIC", "fixture_test.go:", "FAIL\tfixture\t"},
			wantNot: []string{"PASSING-TEST-LOG", "=== RUN"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			skips, err := filter(bytes.NewReader(runFixture(t, tc.env...)), &out, "./fixture")
			if err != nil {
				t.Fatal(err)
			}
			got := out.String()
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order); output:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("output contains %q; output:\n%s", w, got)
				}
			}
			if tc.wantSkips == nil {
				return
			}
			if len(skips) != len(tc.wantSkips) {
				t.Fatalf("skips %+v, want %+v", skips, tc.wantSkips)
			}
			for i, w := range tc.wantSkips {
				s := skips[i]
				if s.Module != w.Module || s.Package != w.Package || s.Test != w.Test || strings.Join(s.Message, "|") != strings.Join(w.Message, "|") {
					t.Errorf("skip %d = %+v, want %+v", i, s, w)
				}
			}
		})
	}
}

// TestFilterPassesOtherLines: what is not a test event (a build error on
// stdout, a line cut short) is copied unchanged, and a build's output is
// printed.
func TestFilterPassesOtherLines(t *testing.T) {
	in := "# fixture\n{not json\n" +
		`{"ImportPath":"fixture [fixture.test]","Action":"build-output","Output":"./broken.go:2:17: undefined: x\n"}` + "\n" +
		`{"Action":"output","Package":"fixture","Output":"FAIL\tfixture [build failed]\n"}` + "\n"
	var out bytes.Buffer
	if _, err := filter(strings.NewReader(in), &out, "."); err != nil {
		t.Fatal(err)
	}
	want := "# fixture\n{not json\n./broken.go:2:17: undefined: x\nFAIL\tfixture [build failed]\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		recs []skip
		want []string // in this order
	}{
		{name: "none", want: []string{"no test was skipped"}},
		{
			name: "grouped by module, package and message",
			recs: []skip{
				{Module: "./e2e", Package: "e2e", Test: "TestB", Message: []string{"b.go:1: no chromium"}},
				{Module: ".", Package: "root", Test: "TestA/x", Message: []string{"a.go:9: no xmlsec1"}},
				{Module: ".", Package: "root", Test: "TestA/y", Message: []string{"a.go:9: no xmlsec1"}},
				{Module: ".", Package: "root", Test: "TestC"},
				{Module: ".", Package: "root", Test: "TestD", Message: []string{"d_test.go:120: no xmlsec1"}},
				{Module: ".", Package: "root", Test: "TestE", Message: []string{"e.go:3: two lines", "e.go:4: of reasons: x"}},
			},
			want: []string{
				"!!! 6 SKIPPED TEST(S)",
				"module .\n", "  root\n", "    3 test(s): TestA/x, TestA/y, TestD\n", "      no xmlsec1\n",
				"    1 test(s): TestC\n", "      (no message)\n",
				"    1 test(s): TestE\n", "      two lines\n", "      of reasons: x\n",
				"module ./e2e\n", "  e2e\n", "    1 test(s): TestB\n", "      no chromium\n",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Through the file, as scripts/test uses it.
			file := filepath.Join(t.TempDir(), "skips")
			var data bytes.Buffer
			for _, r := range tc.recs {
				var line bytes.Buffer
				if err := writeSkips(&line, []skip{r}); err != nil {
					t.Fatal(err)
				}
				data.Write(line.Bytes())
			}
			if err := os.WriteFile(file, data.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := readSkips(raw)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			printSummary(&out, recs)
			got, rest := out.String(), out.String()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("summary lacks %q (in order); summary:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
