package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// setHelp makes the help list flags as kubectl does: "-f, --follow" for a
// boolean (pflag would print "--follow[=true|false]"), the value's name
// for the others, and a default only when it is not the zero value.
func setHelp(root *cobra.Command) {
	cobra.AddTemplateFunc("flagUsages", flagUsages)
	t := root.UsageTemplate()
	t = strings.ReplaceAll(t, ".LocalFlags.FlagUsages | trimTrailingWhitespaces", "flagUsages .LocalFlags")
	t = strings.ReplaceAll(t, ".InheritedFlags.FlagUsages | trimTrailingWhitespaces", "flagUsages .InheritedFlags")
	root.SetUsageTemplate(t)
}

// flagUsages lists fs's flags, one per line, aligned.
func flagUsages(fs *pflag.FlagSet) string {
	var names, usages []string
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "      --" + f.Name
		if f.Shorthand != "" {
			name = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && varname != "" {
			name += " " + varname
		}
		if d := defaultOf(f); d != "" {
			usage += " (default " + d + ")"
		}
		names, usages = append(names, name), append(usages, usage)
		width = max(width, len(name))
	})
	var b strings.Builder
	for i := range names {
		fmt.Fprintf(&b, "%-*s   %s\n", width, names[i], usages[i])
	}
	return strings.TrimRight(b.String(), "\n")
}

// defaultOf is a flag's default as the help shows it: "" for a zero value.
func defaultOf(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}
