// Command saml2sp is an offline SAML debugger: it decodes captured SAML
// messages, checks a captured Response exactly as an app built on the
// saml2sp library would (the library's Diagnose, which runs ParseResponse
// itself), checks IdP metadata, and makes SP key pairs and SP metadata.
//
// Nothing leaves the machine: the only network access is fetching IdP
// metadata when given a URL. Support engineers can debug a failed login
// without pasting live assertions into online tools.
//
//	saml2sp decode [flags] [FILE|-]
//	saml2sp verify --idp-metadata FILE|URL --sp-entity-id ID --acs-url URL [flags] [FILE|-]
//	saml2sp metadata check FILE|URL
//	saml2sp keygen [flags]
//	saml2sp sp-metadata [flags]
//	saml2sp help [COMMAND]
//
// Exit status: 0 success (a Response accepted), 1 a negative answer (a
// Response or metadata refused, a file that exists), 2 unusable input or
// flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitRefused  = 1
	exitUnusable = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the usage line and description, without the flags
	// flags declares the command's flags on fs (for its help text); run
	// declares them again when it runs.
	flags func(fs *flag.FlagSet)
	run   func(env *env, args []string) int
}

// env is what a command runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []*command {
	return []*command{decodeCommand(), verifyCommand(), metadataCommand(), keygenCommand(), spMetadataCommand()}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole program: args without the program name. It returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		topUsage(stderr)
		return exitUnusable
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := findCommand(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "saml2sp help: unknown command %q\n", args[1])
				return exitUnusable
			}
			commandUsage(c, stdout)
			return exitOK
		}
		topUsage(stdout)
		return exitOK
	default:
		c := findCommand(name)
		if c == nil {
			fmt.Fprintf(stderr, "saml2sp: unknown command %q\n\n", name)
			topUsage(stderr)
			return exitUnusable
		}
		return c.run(e, args[1:])
	}
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `saml2sp is an offline SAML debugger: it decodes and verifies captured SAML
messages on this machine, with the saml2sp library itself.

Usage:

	saml2sp <command> [flags] [arguments]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "	%-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Use "saml2sp help <command>" or "saml2sp <command> -h" for a command's flags.

Exit status: 0 success (the Response was accepted), 1 a negative answer
(refused), 2 unusable input or flags.
`)
}

func commandUsage(c *command, w io.Writer) {
	fmt.Fprint(w, strings.TrimLeft(c.usage, "\n"))
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		// As flag.PrintDefaults, with the "--" the usage texts use.
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
}

// parseFlagSet parses a command's flags, declared on fs, which may come
// before, after or between its arguments ("--" ends the flags). It
// returns the arguments, or the exit status when the command must stop
// (-h: 0, an error: 2).
func parseFlagSet(c *command, fs *flag.FlagSet, e *env, args []string) ([]string, int, bool) {
	fs.SetOutput(io.Discard)
	var rest []string
	if i := indexOf(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				commandUsage(c, e.stdout)
				return nil, exitOK, false
			}
			fmt.Fprintf(e.stderr, "saml2sp %s: %v\nRun \"saml2sp help %s\" for usage.\n", c.name, err, c.name)
			return nil, exitUnusable, false
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return append(positional, rest...), 0, true
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// usageError prints a usage problem and returns exitUnusable.
func usageError(c *command, e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "saml2sp %s: %s\nRun \"saml2sp help %s\" for usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUnusable
}

// failure prints why a command could not do its work and returns status.
func failure(c *command, e *env, status int, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "saml2sp %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return status
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
