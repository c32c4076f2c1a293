package manifest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"redoubt.dev/redoubt/internal/inventory"
)

// Limits bound the work one input can cause. Manifests come from anywhere (a chart downloaded
// yesterday, a pull request), so every dimension that could explode is capped.
type Limits struct {
	// MaxFileBytes is the largest file (or rendered template) read.
	MaxFileBytes int64
	// MaxDepth is the deepest nesting of maps and lists in one document.
	MaxDepth int
	// MaxNodes is the most values one document may expand to, aliases included: it stops
	// "billion laughs" alias bombs.
	MaxNodes int
}

// DefaultLimits suit real estates: a 10,000-workload file is about 20 MB.
var DefaultLimits = Limits{MaxFileBytes: 64 << 20, MaxDepth: 100, MaxNodes: 1 << 20}

// document is one YAML document of a stream and the line it starts on.
type document struct {
	body []byte
	// line is the 1-based line of the document's first line in its file.
	line int
}

// splitDocuments cuts a YAML stream at its "---" separators (and "..." end markers). Each
// document is parsed on its own, so a syntax error in one does not lose the others.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		var text []byte
		next := len(data) + 1
		if end >= 0 {
			text = data[pos : pos+end]
			next = pos + end + 1
		} else {
			text = data[pos:]
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		if isSeparator(text) {
			docs = append(docs, document{body: data[start:pos], line: startLine})
			start, startLine = min(next, len(data)), line+1
			if bytes.HasPrefix(text, []byte("---")) {
				// "--- {a: 1}" puts content on the separator line itself.
				if rest := bytes.TrimSpace(text[3:]); len(rest) > 0 && rest[0] != '#' {
					start, startLine = pos+3, line
				}
			}
		}
		pos = next
		line++
	}
	if start < len(data) {
		docs = append(docs, document{body: data[start:], line: startLine})
	}
	out := docs[:0]
	for _, d := range docs {
		if !blank(d.body) {
			out = append(out, d)
		}
	}
	return out
}

func isSeparator(line []byte) bool {
	if bytes.HasPrefix(line, []byte("---")) {
		return len(line) == 3 || line[3] == ' ' || line[3] == '\t'
	}
	return bytes.Equal(bytes.TrimRight(line, " \t"), []byte("..."))
}

// blank reports whether a document holds only whitespace, comments and directives.
func blank(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && l[0] != '%' {
			return false
		}
	}
	return true
}

// SyntaxError is a YAML error at a line of a file.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return e.Msg }

// yamlLine splits a yaml.v3 error ("yaml: line 3: mapping values are not allowed in this
// context") into its line and its message.
func yamlLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				return n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return 0, msg
}

// problemLine finds the line of the token a syntax error is about. yaml.v3 reports the line
// its enclosing block starts on when it has one (its context mark, not its problem mark), which
// can be far above the mistake. Cutting the document after the offending line gives the same
// error and cutting it before gives none (or another), so the shortest prefix, from the reported
// line on, that fails with the same message ends on the offending line. A galloping search
// (reported+1, +2, +4, ...) then a binary search find it in a few parses of prefixes not much
// longer than that line. It is only called for documents that failed to parse.
func problemLine(body []byte, reported int, msg string) int {
	ends := []int{} // ends[i] is the offset just past line i+1
	for i, c := range body {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(body) {
		ends = append(ends, len(body))
	}
	fails := func(line int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(body[:ends[line-1]], &n)
		if err == nil {
			return false
		}
		_, m := yamlLine(err.Error())
		return m == msg
	}
	last := len(ends) // the whole body fails
	if reported < 1 || reported > last {
		return reported
	}
	lo, hi := reported, last // the answer is in [lo, hi]
	for step := 1; ; step *= 2 {
		k := min(reported+step-1, last)
		if k == last || fails(k) {
			hi = k
			break
		}
		lo = k + 1
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// parseDocument turns one document into JSON-compatible values, rejecting what Kubernetes would
// reject (duplicate keys) and what would exhaust memory (alias bombs, deep nesting). Lines in
// errors are lines of the file: offset is the line the document starts on, minus one.
func parseDocument(body []byte, offset int, lim Limits) (map[string]any, *yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(body, &root); err != nil {
		line, msg := yamlLine(err.Error())
		if line > 0 {
			line = problemLine(body, line, msg) + offset
		}
		return nil, nil, &SyntaxError{Line: line, Msg: msg}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, nil, nil
	}
	c := converter{lim: lim, offset: offset}
	v, err := c.value(root.Content[0], 0)
	if err != nil {
		return nil, nil, err
	}
	if v == nil {
		return nil, nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, &SyntaxError{Line: root.Content[0].Line + offset, Msg: fmt.Sprintf("a Kubernetes object must be a mapping, not a %s", kindName(root.Content[0]))}
	}
	return m, root.Content[0], nil
}

type converter struct {
	lim    Limits
	offset int
	nodes  int
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) error {
	return &SyntaxError{Line: n.Line + c.offset, Msg: fmt.Sprintf(format, args...)}
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > c.lim.MaxNodes {
		return nil, c.fail(n, "document expands to more than %d values (an alias bomb?)", c.lim.MaxNodes)
	}
	if depth > c.lim.MaxDepth {
		return nil, c.fail(n, "document nests deeper than %d levels", c.lim.MaxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merges = append(merges, vn)
				continue
			}
			key, err := c.key(k)
			if err != nil {
				return nil, err
			}
			if _, dup := out[key]; dup {
				return nil, c.fail(k, "duplicate key %q (first at line %d)", key, firstKeyLine(n, key)+c.offset)
			}
			v, err := c.value(vn, depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
		// "<<: *base" merges keys the mapping does not set itself.
		for _, m := range merges {
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = m.Content
			}
			for _, src := range srcs {
				v, err := c.value(src, depth+1)
				if err != nil {
					return nil, err
				}
				mm, ok := v.(map[string]any)
				if !ok {
					return nil, c.fail(src, "merge key value must be a mapping")
				}
				for k, x := range mm {
					if _, set := out[k]; !set {
						out[k] = x
					}
				}
			}
		}
		return out, nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.fail(n, "unexpected YAML node")
}

// firstKeyLine is the line of the first occurrence of key in a mapping: only needed for the
// error message, so it is searched for rather than recorded for every key.
func firstKeyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Value == key {
			return k.Line
		}
	}
	return m.Line
}

func (c *converter) key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", c.fail(k, "mapping keys must be scalars, not a %s", kindName(k))
	}
	return k.Value, nil
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.fail(n, "%v", err)
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.fail(n, "%v", err)
		}
		return f, nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if err := n.Decode(&f); err != nil {
				return nil, c.fail(n, "%v", err)
			}
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, c.fail(n, "%q is not a number JSON can hold", n.Value)
		}
		return f, nil
	}
	// An unknown tag such as !Ref: keep the text, as Kubernetes would see it.
	return n.Value, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// containerLines finds the line of every container entry (containers, initContainers,
// ephemeralContainers) in a document, keyed by container name, and of every container's env
// entry, keyed by inventory.EnvLineKey (the first entry when a name repeats).
func containerLines(root *yaml.Node, offset int) map[string]int {
	var out map[string]int
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > 12 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				switch k.Value {
				case "containers", "initContainers", "ephemeralContainers":
					if v.Kind != yaml.SequenceNode {
						continue
					}
					for _, c := range v.Content {
						if c.Kind != yaml.MappingNode {
							continue
						}
						name, env := "", (*yaml.Node)(nil)
						for j := 0; j+1 < len(c.Content); j += 2 {
							switch c.Content[j].Value {
							case "name":
								name = c.Content[j+1].Value
							case "env":
								env = c.Content[j+1]
							}
						}
						if name == "" {
							continue
						}
						if out == nil {
							out = map[string]int{}
						}
						out[name] = c.Line + offset
						if env == nil || env.Kind != yaml.SequenceNode {
							continue
						}
						for _, e := range env.Content {
							if e.Kind != yaml.MappingNode {
								continue
							}
							for j := 0; j+1 < len(e.Content); j += 2 {
								if e.Content[j].Value != "name" {
									continue
								}
								key := inventory.EnvLineKey(name, e.Content[j+1].Value)
								if _, seen := out[key]; !seen {
									out[key] = e.Line + offset
								}
							}
						}
					}
				case "metadata", "status", "data", "stringData":
				default:
					walk(v, depth+1)
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
	}
	walk(root, 0)
	return out
}
