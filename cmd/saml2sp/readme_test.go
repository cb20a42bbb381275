package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeTranscript: the README's verify transcript is what the command
// prints (its elided lines aside), so the walkthrough stays true.
func TestReadmeTranscript(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Debugging SSO\n")
	require.True(t, ok, "the README has a Debugging SSO section")
	_, rest, ok := strings.Cut(section, "```text\n")
	require.True(t, ok, "the README has a transcript")
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)

	var command strings.Builder
	var want []string
	inCommand := false
	for _, line := range strings.Split(block, "\n") {
		switch {
		case strings.HasPrefix(line, "$ "):
			command.WriteString(strings.TrimSuffix(strings.TrimPrefix(line, "$ "), `\`))
			inCommand = strings.HasSuffix(line, `\`)
		case inCommand:
			command.WriteString(" " + strings.TrimSuffix(strings.TrimSpace(line), `\`))
			inCommand = strings.HasSuffix(line, `\`)
		case strings.TrimSpace(line) == "..." || strings.TrimSpace(line) == "":
		default:
			want = append(want, strings.TrimRight(line, " "))
		}
	}
	fields := strings.Fields(command.String())
	require.Greater(t, len(fields), 3)
	require.Equal(t, []string{"go", "run", "./cmd/saml2sp"}, fields[:3])
	args := fields[3:]
	for i, a := range args {
		// The README runs from the repository's root.
		if strings.HasPrefix(a, "cmd/saml2sp/") {
			args[i] = strings.TrimPrefix(a, "cmd/saml2sp/")
		} else if strings.HasPrefix(a, "testdata/") {
			args[i] = "../../" + a
		}
	}
	code, out, stderr := cli(t, "", args...)
	require.Empty(t, stderr)
	assert.Equal(t, 1, code)
	var got []string
	for _, line := range strings.Split(out, "\n") {
		got = append(got, strings.TrimRight(line, " "))
	}
	for _, w := range want {
		assert.Contains(t, got, w)
	}
}
