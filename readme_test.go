package saml2sp_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeAppCompiles: the README's first Go code is examples/minimal,
// word for word, which CI builds and tests; so the code a reader copies
// compiles and works.
func TestReadmeAppCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	app, err := os.ReadFile("examples/minimal/main.go")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	require.True(t, ok, "the README has Go code")
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	assert.Equal(t, string(app), block, "the README's first Go block must be examples/minimal/main.go")
	assert.NotContains(t, string(readme), "../shared", "the README links nothing outside the repository")
}
