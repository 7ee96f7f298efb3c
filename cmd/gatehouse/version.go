package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// versionInfo describes this binary from its build information: the module version (a tag
// when built with `go install …@vX`, "(devel)" from a checkout), the VCS commit and whether
// the tree was modified, and the Go version.
func versionInfo() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "gatehouse (unknown version: no build information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, when, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	out := "gatehouse " + version
	if rev != "" {
		out += fmt.Sprintf(" commit %s%s", rev, modified)
		if when != "" {
			out += " " + when
		}
	}
	return out + " " + bi.GoVersion
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintln(w, versionInfo())
	return err
}
