package image

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// Component classes: the kinds of tool a production image should not carry.
const (
	ClassShell          = "shell"
	ClassPackageManager = "package-manager"
	ClassNetworkTool    = "network-tool"
	ClassDebugger       = "debugger"
	ClassBuildTool      = "build-tool"
)

// componentNames maps a binary's file name to its class.
var componentNames = map[string]string{
	"sh": ClassShell, "bash": ClassShell, "dash": ClassShell, "ash": ClassShell, "zsh": ClassShell,
	"ksh": ClassShell, "mksh": ClassShell, "csh": ClassShell, "tcsh": ClassShell, "fish": ClassShell,
	"busybox": ClassShell,

	"apt": ClassPackageManager, "apt-get": ClassPackageManager, "dpkg": ClassPackageManager,
	"apk": ClassPackageManager, "yum": ClassPackageManager, "dnf": ClassPackageManager,
	"microdnf": ClassPackageManager, "rpm": ClassPackageManager, "pip": ClassPackageManager,
	"pip3": ClassPackageManager, "pip2": ClassPackageManager, "npm": ClassPackageManager,
	"npx": ClassPackageManager, "yarn": ClassPackageManager, "pnpm": ClassPackageManager,

	"curl": ClassNetworkTool, "wget": ClassNetworkTool, "nc": ClassNetworkTool, "ncat": ClassNetworkTool,
	"netcat": ClassNetworkTool, "nc.openbsd": ClassNetworkTool, "nc.traditional": ClassNetworkTool,
	"socat": ClassNetworkTool, "telnet": ClassNetworkTool, "ssh": ClassNetworkTool, "scp": ClassNetworkTool,
	"sftp": ClassNetworkTool, "nmap": ClassNetworkTool,

	"gdb": ClassDebugger, "strace": ClassDebugger, "ltrace": ClassDebugger, "tcpdump": ClassDebugger,

	"gcc": ClassBuildTool, "g++": ClassBuildTool, "cc": ClassBuildTool, "c++": ClassBuildTool,
	"make": ClassBuildTool, "go": ClassBuildTool, "clang": ClassBuildTool,
}

// versioned names: pip3.11, gcc-12, x86_64-linux-gnu-gcc-12.
var versionedComponent = regexp.MustCompile(`^(?:[a-z0-9_]+-linux-gnu-)?(pip3\.\d+|gcc-\d+|g\+\+-\d+|gcc|g\+\+|clang-\d+)$`)

// componentClass classifies a binary's file name.
func componentClass(name string) (string, bool) {
	if c, ok := componentNames[name]; ok {
		return c, true
	}
	m := versionedComponent.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	switch {
	case strings.HasPrefix(m[1], "pip"):
		return ClassPackageManager, true
	}
	return ClassBuildTool, true
}

// binDirs are where tools are looked for: the directories on a default PATH, and Go's.
var binDirs = []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin",
	"usr/local/go/bin", "usr/lib/go/bin"}

// inBinDir reports whether p is a file directly in one of binDirs.
func inBinDir(p string) bool {
	return slices.Contains(binDirs, path.Dir(p))
}

// watchComponent selects the paths whose deletion the tree records and whose owners the package
// extractors keep: component names in binary directories.
func watchComponent(p string) bool {
	if !inBinDir(p) {
		return false
	}
	_, ok := componentClass(path.Base(p))
	return ok
}

// findComponents lists the components present in the final filesystem, one per class and file
// (a tool's names that resolve to the same file are one component).
func findComponents(t *tree) []Component {
	type key struct{ class, target string }
	type where struct {
		path  string
		layer int
	}
	byKey := map[key]*Component{}
	at := map[key]map[string]where{}
	var order []key
	seenDir := map[string]bool{}
	for _, d := range binDirs {
		canon, dn := t.resolve(d)
		if dn == nil || dn.e.Type != typeDir || seenDir[canon] {
			continue
		}
		seenDir[canon] = true
		for _, name := range dn.children() {
			class, ok := componentClass(name)
			if !ok {
				continue
			}
			k := dn.kids[name]
			if k.e.Type == typeDir || k.e.Type == typeOther {
				continue
			}
			p := path.Join(canon, name)
			target, tn := t.resolve(p)
			if tn == nil || tn.e.Type == typeDir {
				continue // a dangling link is no tool
			}
			ck := key{class, target}
			c := byKey[ck]
			if c == nil {
				c = &Component{Class: class, Target: target}
				byKey[ck] = c
				at[ck] = map[string]where{}
				order = append(order, ck)
			}
			if _, dup := at[ck][name]; !dup {
				at[ck][name] = where{p, k.layer}
				c.Names = append(c.Names, name)
			}
		}
	}
	out := make([]Component, 0, len(order))
	for _, k := range order {
		c := byKey[k]
		slices.Sort(c.Names)
		c.Name = primaryName(c)
		w := at[k][c.Name]
		c.Path, c.Layer = w.path, w.layer
		if c.Target == c.Path {
			c.Target = ""
		}
		if len(c.Names) == 1 {
			c.Names = nil
		}
		out = append(out, *c)
	}
	return out
}

// primaryName picks the name a person knows the tool by: the file's own name when it is one of
// the names (dash for sh), else the shortest.
func primaryName(c *Component) string {
	if b := path.Base(c.Target); slices.Contains(c.Names, b) {
		return b
	}
	best := c.Names[0]
	for _, n := range c.Names[1:] {
		if len(n) < len(best) {
			best = n
		}
	}
	return best
}

// ComponentClass classifies a binary by its file name (curl, apt-get, gcc-12, pip3.11, ...)
// into the component classes above, so that the runtime detections flag at exec the same tools
// the image analyzer flags in an image.
func ComponentClass(name string) (class string, ok bool) { return componentClass(name) }
