// Command testsum is scripts/test's filter for `go test -json`: it prints
// what a plain `go test` prints (package results, and the output of failing
// tests only) and records every skipped test with its message, because a
// plain `go test` hides skips and a skipped test checks nothing.
//
//	go test -json ./... | testsum -module ./e2e -skips FILE
//	testsum -summary FILE
//
// The first form appends the skips to FILE (JSON lines); the second prints
// them, grouped by module, package and message, and exits 0 either way.
// Only the standard library, so it builds wherever the tests do.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	module := flag.String("module", ".", "the module directory, as the summary names it")
	skips := flag.String("skips", "", "file to append skipped tests to (JSON lines)")
	summary := flag.String("summary", "", "print the skipped tests recorded in this file, and exit")
	flag.Parse()
	if err := run(*module, *skips, *summary); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
}

func run(module, skipsFile, summaryFile string) error {
	if summaryFile != "" {
		data, err := os.ReadFile(summaryFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		recs, err := readSkips(data)
		if err != nil {
			return err
		}
		printSummary(os.Stdout, recs)
		return nil
	}
	recs, err := filter(os.Stdin, os.Stdout, module)
	if err != nil {
		return err
	}
	if skipsFile == "" || len(recs) == 0 {
		return nil
	}
	f, err := os.OpenFile(skipsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := writeSkips(f, recs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSkips writes one JSON line per skipped test.
func writeSkips(w io.Writer, recs []skip) error {
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// event is one line of `go test -json` (cmd/test2json's TestEvent; build
// output comes with ImportPath instead of Package).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// skip is one skipped test.
type skip struct {
	Module  string   `json:"module"`
	Package string   `json:"package"`
	Test    string   `json:"test"`
	Message []string `json:"message"` // its output, "file.go:12: why" lines
}

// filter copies the stream in to out the way a plain `go test` would show
// it and returns the skipped tests. A line that is not JSON is copied
// unchanged.
func filter(in io.Reader, out io.Writer, module string) ([]skip, error) {
	var skips []skip
	// Output of each running test, by package and test name, kept until
	// the test ends: printed if it fails, recorded if it skips.
	running := map[[2]string][]string{}
	var order [][2]string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Test == "":
			// Package level: "ok", "FAIL", "?", panics, TestMain's output.
			if e.Action == "output" && e.Output != "PASS\n" {
				fmt.Fprint(out, e.Output)
			}
		default:
			key := [2]string{e.Package, e.Test}
			switch e.Action {
			case "output":
				if _, ok := running[key]; !ok {
					order = append(order, key)
					running[key] = nil
				}
				if !isFraming(e.Output) {
					running[key] = append(running[key], e.Output)
				}
			case "fail":
				block := failed(e.Test, running[key])
				delete(running, key)
				if parent, ok := parentOf(key); ok {
					// Printed inside the parent's block, one level further
					// in, as go test nests them.
					for _, l := range block {
						running[parent] = append(running[parent], "    "+l)
					}
					continue
				}
				for _, l := range block {
					fmt.Fprint(out, l)
				}
			case "skip":
				skips = append(skips, skip{Module: module, Package: e.Package, Test: e.Test, Message: message(running[key])})
				delete(running, key)
			case "pass":
				delete(running, key)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return skips, err
	}
	// A test that never ended (its binary crashed or timed out): its output
	// is the crash's context, as go test shows it.
	for _, key := range order {
		if lines, ok := running[key]; ok && len(lines) > 0 {
			fmt.Fprintf(out, "--- %s (did not finish)\n", key[1])
			for _, l := range lines {
				fmt.Fprint(out, l)
			}
		}
	}
	return skips, nil
}

// failed lays out a failed test's output the way a plain go test does:
// its "--- FAIL" line first, then its lines and its failed subtests'
// blocks in the order they came. test2json removes the indentation of
// subtests; the caller puts it back.
func failed(test string, lines []string) []string {
	var head string
	var body []string
	for _, l := range lines {
		if head == "" && strings.HasPrefix(l, "--- FAIL: "+test+" ") {
			head = l
			continue
		}
		body = append(body, l)
	}
	if head == "" {
		head = "--- FAIL: " + test + "\n"
	}
	return append([]string{head}, body...)
}

// isFraming reports whether a line is one of the markers -v adds that a
// plain go test does not print.
func isFraming(l string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(strings.TrimLeft(l, " "), p) {
			return true
		}
	}
	return false
}

func parentOf(key [2]string) ([2]string, bool) {
	i := strings.LastIndexByte(key[1], '/')
	if i < 0 {
		return key, false
	}
	return [2]string{key[0], key[1][:i]}, true
}

// message keeps a skipped test's own lines: neither its "--- SKIP" line nor
// blank ones.
func message(lines []string) []string {
	var m []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "--- SKIP:") {
			continue
		}
		m = append(m, t)
	}
	return m
}

func readSkips(data []byte) ([]skip, error) {
	var recs []skip
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var r skip
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
}

// location is the "file.go:12: " that testing puts before a logged line.
var location = regexp.MustCompile(`^[^\s:]+\.go:\d+: `)

// printSummary prints the skips so that nobody misses them: a banner with
// the count, then per module and package each distinct message once with
// the tests that gave it.
func printSummary(out io.Writer, recs []skip) {
	if len(recs) == 0 {
		fmt.Fprintln(out, "\n==> no test was skipped")
		return
	}
	bar := strings.Repeat("!", 72)
	fmt.Fprintf(out, "\n%s\n!!! %d SKIPPED TEST(S): they did not run, so they checked nothing\n%s\n", bar, len(recs), bar)
	type group struct {
		module, pkg, msg string
		tests            []string
	}
	var groups []*group
	byKey := map[[3]string]*group{}
	for _, r := range recs {
		// Without the "file.go:12: " of each line: tests skipped for one
		// reason at different call sites share one entry.
		lines := make([]string, len(r.Message))
		for i, l := range r.Message {
			lines[i] = location.ReplaceAllString(l, "")
		}
		msg := strings.Join(lines, "\n")
		if msg == "" {
			msg = "(no message)"
		}
		k := [3]string{r.Module, r.Package, msg}
		g := byKey[k]
		if g == nil {
			g = &group{module: r.Module, pkg: r.Package, msg: msg}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.tests = append(g.tests, r.Test)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].module != groups[j].module {
			return groups[i].module < groups[j].module
		}
		return groups[i].pkg < groups[j].pkg
	})
	lastModule, lastPkg := "", ""
	for _, g := range groups {
		if g.module != lastModule {
			fmt.Fprintf(out, "module %s\n", g.module)
			lastModule, lastPkg = g.module, ""
		}
		if g.pkg != lastPkg {
			fmt.Fprintf(out, "  %s\n", g.pkg)
			lastPkg = g.pkg
		}
		fmt.Fprintf(out, "    %d test(s): %s\n", len(g.tests), strings.Join(g.tests, ", "))
		for _, l := range strings.Split(g.msg, "\n") {
			fmt.Fprintf(out, "      %s\n", l)
		}
	}
	fmt.Fprintln(out, bar)
}
