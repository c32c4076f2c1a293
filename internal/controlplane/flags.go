package controlplane

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Syntax is the command-line grammar a component's flag parser implements.
type Syntax int

// The grammars.
const (
	// PFlag is github.com/spf13/pflag, which every Kubernetes component uses: --name=value,
	// --name value (not for booleans), -s shorthands, flags anywhere among positional arguments,
	// "--" ends the flags, and "_" in a name means "-".
	PFlag Syntax = iota
	// GoFlag is Go's flag package, which etcd uses: -name or --name, -name=value, -name value
	// (not for booleans), and parsing stops at the first positional argument.
	GoFlag
)

// FlagSpec is one flag as the component's own flag set defines it.
type FlagSpec struct {
	// Type is pflag's type name ("bool", "string", "int32", "duration", "strings",
	// "stringArray", "mapStringString", ...); for etcd, "bool" or "string".
	Type string
	// Default is the default value as the flag set prints it.
	Default string
	// NoOptDefVal is the value a flag given without one takes ("true" for booleans).
	NoOptDefVal string
}

// list reports whether repeated occurrences accumulate (slices and arrays) rather than replace.
func (s FlagSpec) list() bool {
	return s.Type == "strings" || strings.HasSuffix(s.Type, "Slice") || strings.HasSuffix(s.Type, "Array") || s.Type == "namedCertKey"
}

// mapped reports whether occurrences merge key=value pairs.
func (s FlagSpec) mapped() bool { return strings.HasPrefix(s.Type, "mapString") }

// Spec is a component's flag set: its grammar, its flags and their shorthands.
type Spec struct {
	Component  string
	Syntax     Syntax
	Flags      map[string]FlagSpec
	Shorthands map[string]string
	// EnvPrefix names environment variables that set flags not given on the command line
	// (etcd: ETCD_CLIENT_CERT_AUTH sets --client-cert-auth).
	EnvPrefix string
}

// SpecFor returns the flag set of a component, or nil for an unknown one.
func SpecFor(component string) *Spec { return specs[component] }

// Flags is a parsed command line: what was given and what each flag's value is in effect.
type Flags struct {
	spec *Spec
	// given maps a flag name to every value given for it, in order.
	given map[string][]string
	// fromEnv records flags set by the environment rather than the command line.
	fromEnv map[string]bool
	// Positional are the arguments that are not flags.
	Positional []string
	// Unknown are flags the component does not define: it would refuse to start with them, so
	// a reader of the command line should doubt it.
	Unknown []string
	// Errors are malformed arguments (a flag without its value, a bad name).
	Errors []string
}

// Parse reads a command line (without the program name) the way the component's own flag
// parser does, then applies environment variables where the component reads them.
func Parse(spec *Spec, args []string, env map[string]string) *Flags {
	f := &Flags{spec: spec, given: map[string][]string{}, fromEnv: map[string]bool{}}
	if spec.Syntax == GoFlag {
		f.parseGo(args)
	} else {
		f.parsePFlag(args)
	}
	if spec.EnvPrefix != "" {
		for name := range spec.Flags {
			if _, ok := f.given[name]; ok {
				continue
			}
			key := spec.EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			if v, ok := env[key]; ok {
				f.given[name] = []string{v}
				f.fromEnv[name] = true
			}
		}
	}
	return f
}

func (f *Flags) normalize(name string) string {
	if f.spec.Syntax == PFlag {
		return strings.ReplaceAll(name, "_", "-")
	}
	return name
}

func (f *Flags) lookup(name string) (FlagSpec, bool) {
	s, ok := f.spec.Flags[name]
	return s, ok
}

func (f *Flags) record(name, value string) {
	f.given[name] = append(f.given[name], value)
}

// parsePFlag follows pflag's parseArgs.
func (f *Flags) parsePFlag(args []string) {
	for len(args) > 0 {
		s := args[0]
		args = args[1:]
		if len(s) < 2 || s[0] != '-' {
			f.Positional = append(f.Positional, s)
			continue
		}
		if s == "--" {
			f.Positional = append(f.Positional, args...)
			return
		}
		if s[1] == '-' {
			args = f.pflagLong(s, args)
		} else {
			args = f.pflagShort(s, args)
		}
	}
}

func (f *Flags) pflagLong(s string, args []string) []string {
	name := s[2:]
	if name == "" || name[0] == '-' || name[0] == '=' {
		f.Errors = append(f.Errors, fmt.Sprintf("bad flag syntax: %s", s))
		return args
	}
	name, value, hasValue := strings.Cut(name, "=")
	name = f.normalize(name)
	spec, known := f.lookup(name)
	switch {
	case hasValue:
	case known && spec.NoOptDefVal != "":
		value = spec.NoOptDefVal
	case len(args) > 0:
		value, args = args[0], args[1:]
	default:
		f.Errors = append(f.Errors, fmt.Sprintf("flag needs an argument: --%s", name))
		return args
	}
	if !known {
		f.Unknown = append(f.Unknown, name)
	}
	f.record(name, value)
	return args
}

// pflagShort handles -abc, -v=4 and -v 4.
func (f *Flags) pflagShort(s string, args []string) []string {
	shorthands := s[1:]
	for len(shorthands) > 0 {
		c := shorthands[:1]
		name, known := f.spec.Shorthands[c]
		if !known {
			f.Unknown = append(f.Unknown, "-"+c)
			return args
		}
		spec := f.spec.Flags[name]
		rest := shorthands[1:]
		switch {
		case strings.HasPrefix(rest, "="):
			f.record(name, rest[1:])
			return args
		case spec.NoOptDefVal != "":
			f.record(name, spec.NoOptDefVal)
			shorthands = rest
			continue
		case rest != "":
			f.record(name, rest)
			return args
		case len(args) > 0:
			f.record(name, args[0])
			return args[1:]
		default:
			f.Errors = append(f.Errors, fmt.Sprintf("flag needs an argument: -%s", c))
			return args
		}
	}
	return args
}

// parseGo follows Go's flag.FlagSet.parseOne.
func (f *Flags) parseGo(args []string) {
	for len(args) > 0 {
		s := args[0]
		if len(s) < 2 || s[0] != '-' {
			f.Positional = append(f.Positional, args...)
			return
		}
		minuses := 1
		if s[1] == '-' {
			minuses = 2
			if len(s) == 2 {
				f.Positional = append(f.Positional, args[1:]...)
				return
			}
		}
		name := s[minuses:]
		if name == "" || name[0] == '-' || name[0] == '=' {
			f.Errors = append(f.Errors, fmt.Sprintf("bad flag syntax: %s", s))
			return
		}
		args = args[1:]
		name, value, hasValue := strings.Cut(name, "=")
		spec, known := f.lookup(name)
		if !known {
			// Go's flag package stops at an undefined flag: the program exits with an error.
			f.Unknown = append(f.Unknown, name)
			f.Errors = append(f.Errors, fmt.Sprintf("flag provided but not defined: -%s", name))
			return
		}
		switch {
		case spec.Type == "bool" && !hasValue:
			value = "true"
		case !hasValue && len(args) > 0:
			value, args = args[0], args[1:]
		case !hasValue:
			f.Errors = append(f.Errors, fmt.Sprintf("flag needs an argument: -%s", name))
			return
		}
		f.record(name, value)
	}
}

// Given reports whether the flag was set on the command line or, where the component reads
// them, by an environment variable.
func (f *Flags) Given(name string) bool {
	_, ok := f.given[name]
	return ok
}

// FromEnv reports whether the flag's value came from an environment variable.
func (f *Flags) FromEnv(name string) bool { return f.fromEnv[name] }

// Value is a flag's value in effect: the last one given, or the default. For list flags the
// values given are joined with commas; for map flags the merged pairs are.
func (f *Flags) Value(name string) string {
	spec := f.spec.Flags[name]
	vals, ok := f.given[name]
	if !ok {
		if spec.list() {
			return strings.Join(splitDefault(spec.Default), ",")
		}
		return spec.Default
	}
	switch {
	case spec.list():
		return strings.Join(f.List(name), ",")
	case spec.mapped():
		m := f.Map(name)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + m[k]
		}
		return strings.Join(pairs, ",")
	}
	return vals[len(vals)-1]
}

// List is a list flag's elements in effect: the default until the flag is given; then every
// occurrence adds its elements (pflag's slices split on commas as CSV; arrays do not split).
func (f *Flags) List(name string) []string {
	spec := f.spec.Flags[name]
	vals, ok := f.given[name]
	if !ok {
		return splitDefault(spec.Default)
	}
	var out []string
	for _, v := range vals {
		if spec.Type == "stringArray" || !spec.list() {
			out = append(out, v)
			continue
		}
		out = append(out, splitCSV(v)...)
	}
	return out
}

// Map is a map flag's pairs in effect: occurrences merge, later keys win.
func (f *Flags) Map(name string) map[string]string {
	out := map[string]string{}
	vals, ok := f.given[name]
	if !ok {
		vals = []string{strings.Trim(f.spec.Flags[name].Default, "[]")}
	}
	for _, v := range vals {
		for _, pair := range splitCSV(v) {
			k, val, _ := strings.Cut(pair, "=")
			if k = strings.TrimSpace(k); k != "" {
				out[k] = strings.TrimSpace(val)
			}
		}
	}
	return out
}

// Bool is a boolean flag's value in effect; ok is false when the value does not parse (the
// component would not have started).
func (f *Flags) Bool(name string) (value, ok bool) {
	b, err := strconv.ParseBool(f.Value(name))
	return b, err == nil
}

// Int is an integer flag's value in effect.
func (f *Flags) Int(name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(f.Value(name)), 10, 64)
	return n, err == nil
}

// Known reports whether the component defines the flag.
func (f *Flags) Known(name string) bool {
	_, ok := f.spec.Flags[name]
	return ok
}

// Describe renders how a flag came to its value, for messages: "--profiling=true (default)".
func (f *Flags) Describe(name string) string {
	v := f.Value(name)
	switch {
	case f.fromEnv[name]:
		return fmt.Sprintf("--%s=%s (from %s%s)", name, v, f.spec.EnvPrefix, strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
	case f.Given(name):
		return fmt.Sprintf("--%s=%s", name, v)
	case v == "":
		return fmt.Sprintf("--%s unset", name)
	}
	return fmt.Sprintf("--%s=%s (the default)", name, v)
}

func splitDefault(def string) []string {
	def = strings.TrimSuffix(strings.TrimPrefix(def, "["), "]")
	if def == "" {
		return nil
	}
	return splitCSV(def)
}

func splitCSV(v string) []string {
	if v == "" {
		return nil
	}
	r := csv.NewReader(strings.NewReader(v))
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return strings.Split(v, ",")
	}
	return rec
}
