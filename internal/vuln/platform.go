package vuln

import "slices"

// Platform limits an affected package to some operating systems and architectures, in Go's
// GOOS and GOARCH names ("linux", "windows"; "amd64", "arm64"). An empty list means every one.
type Platform struct {
	OS   []string `json:"os,omitempty"`
	Arch []string `json:"arch,omitempty"`
}

// includes reports whether the platform covers os/arch; an unknown ("") os or arch is covered,
// as govulncheck's matchesPlatform has it: a finding is never dropped for what is not known.
func (p Platform) includes(os, arch string) bool {
	return (os == "" || len(p.OS) == 0 || slices.Contains(p.OS, os)) &&
		(arch == "" || len(p.Arch) == 0 || slices.Contains(p.Arch, arch))
}

// affectsPlatform reports whether an affected entry limited to platforms (nil: every platform)
// applies to a package built for os/arch: when one of them includes it.
func affectsPlatform(platforms []Platform, os, arch string) bool {
	return len(platforms) == 0 || slices.ContainsFunc(platforms, func(p Platform) bool { return p.includes(os, arch) })
}

// platformsOf reads which platforms an affected entry is limited to from its
// ecosystem_specific data, nil meaning every platform:
//   - Go (the Go vulnerability database): imports[].goos and imports[].goarch. The entry
//     affects a platform when one of its imports does, and an import that lists neither affects
//     every platform, as govulncheck reads them.
//   - crates.io (RustSec): affects.os and affects.arch, in Rust's target names, translated to
//     Go's.
func platformsOf(ecosystem string, es map[string]any) []Platform {
	switch ecosystem {
	case "Go":
		imports, _ := es["imports"].([]any)
		var out []Platform
		for _, x := range imports {
			imp, _ := x.(map[string]any)
			p := Platform{OS: stringList(imp["goos"], nil), Arch: stringList(imp["goarch"], nil)}
			if len(p.OS) == 0 && len(p.Arch) == 0 {
				return nil
			}
			out = append(out, p)
		}
		return out
	case "crates.io":
		affects, _ := es["affects"].(map[string]any)
		p := Platform{OS: stringList(affects["os"], rustOS), Arch: stringList(affects["arch"], rustArch)}
		if len(p.OS) == 0 && len(p.Arch) == 0 {
			return nil
		}
		return []Platform{p}
	}
	return nil
}

// rustOS and rustArch translate Rust's target_os and target_arch names to Go's where they
// differ.
var (
	rustOS   = map[string]string{"macos": "darwin"}
	rustArch = map[string]string{"x86_64": "amd64", "x86": "386", "aarch64": "arm64", "powerpc64": "ppc64",
		"powerpc": "ppc", "mips64": "mips64", "wasm32": "wasm", "loongarch64": "loong64"}
)

// stringList reads a JSON list of strings, renaming through names where it has an entry;
// anything else yields nil. At most 64 entries are kept: platform lists are short.
func stringList(v any, names map[string]string) []string {
	xs, _ := v.([]any)
	var out []string
	for _, x := range xs {
		s, ok := x.(string)
		if !ok || s == "" || len(out) == 64 {
			continue
		}
		if n, ok := names[s]; ok {
			s = n
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
