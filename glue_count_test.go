package saml2sp_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExampleGlueCounts keeps the example apps' SAML glue within what the
// README promises, counted as scripts/glue-count counts it: the lines
// between "// glue:begin" and "// glue:end", blank and comment-only lines
// left out.
func TestExampleGlueCounts(t *testing.T) {
	for file, most := range map[string]int{
		"examples/minimal/main.go": 30, // the default cookie sessions
		"examples/gorilla/main.go": 45, // gorilla/sessions through SessionStore
	} {
		f, err := os.Open(file)
		require.NoError(t, err)
		n, inside, markers := 0, false, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case line == "// glue:begin":
				inside, markers = true, markers+1
			case line == "// glue:end":
				inside, markers = false, markers+1
			case inside && line != "" && !strings.HasPrefix(line, "//"):
				n++
			}
		}
		require.NoError(t, f.Close())
		require.Equal(t, 2, markers, file)
		assert.LessOrEqual(t, n, most, "%s: %d lines of SAML glue", file, n)
		t.Logf("%s: %d lines of SAML glue (at most %d)", file, n, most)
	}
}
