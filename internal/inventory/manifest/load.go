// Package manifest reads a Snapshot from files: YAML and JSON manifests (multi-document, List
// kinds), Helm charts rendered with the Helm library, and Kustomize directories built with the
// Kustomize library. Every object keeps the file and line it came from. Bad input never stops
// the load: each problem is recorded, naming its file and line, and everything else is read.
package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"redoubt.dev/redoubt/internal/inventory"
)

// Options control how manifests are read.
type Options struct {
	// Namespace is the namespace of namespaced objects that name none ("default" when empty).
	Namespace string
	// ValuesFiles are Helm values files applied, in order, over every chart's defaults.
	ValuesFiles []string
	// ReleaseName is the Helm release name charts are rendered with ("release" when empty).
	ReleaseName string
	// Limits bound the work each input may cause; zero fields take DefaultLimits.
	Limits Limits
	// Stdin is read when a path is "-".
	Stdin io.Reader
}

// unit is one thing to read: a file, a Helm chart or a Kustomize directory.
type unit struct {
	kind string // "file", "helm", "kustomize", "stdin"
	path string
}

// Load reads every path into one snapshot. Problems with individual inputs are recorded in the
// snapshot; Load fails only when the context is cancelled.
func Load(ctx context.Context, paths []string, opts Options) (*inventory.Snapshot, error) {
	if opts.Limits.MaxFileBytes <= 0 {
		opts.Limits.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if opts.Limits.MaxDepth <= 0 {
		opts.Limits.MaxDepth = DefaultLimits.MaxDepth
	}
	if opts.Limits.MaxNodes <= 0 {
		opts.Limits.MaxNodes = DefaultLimits.MaxNodes
	}
	b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceManifests, Paths: paths}, opts.Namespace)
	var units []unit
	for _, p := range paths {
		us, problems := discover(p)
		units = append(units, us...)
		for _, pr := range problems {
			b.Problem(pr)
		}
	}
	results := make([][]decoded, len(units))
	problems := make([][]inventory.Problem, len(units))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, u := range units {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], problems[i] = readUnit(ctx, u, opts)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The same object given twice: the later copy wins, as kubectl apply leaves it, and every
	// replaced copy is recorded. Identity is taken after namespace defaulting, so an object that
	// names no namespace and one that names the default namespace are the same object.
	defaultNS := b.DefaultNamespace()
	last := map[string]int{}
	var all []decoded
	for i := range units {
		for _, p := range problems[i] {
			b.Problem(p)
		}
		for _, d := range results[i] {
			if d.problem != nil {
				b.Problem(*d.problem)
			}
			if d.typed == nil && d.other == nil {
				continue
			}
			all = append(all, d)
			if k := identity(d, defaultNS); k != "" {
				last[k] = len(all) - 1
			}
		}
	}
	for i, d := range all {
		if k := identity(d, defaultNS); k != "" && last[k] != i {
			kept := all[last[k]]
			b.Duplicate(inventory.Duplicate{APIVersion: d.apiVersion, Kind: d.kind, Namespace: effectiveNamespace(d, defaultNS), Name: d.name,
				Origin: d.origin, Kept: kept.origin})
			continue
		}
		if d.typed != nil {
			b.Add(d.typed, d.origin, d.lines)
		} else {
			b.AddUnstructured(d.other)
		}
	}
	return b.Snapshot(), nil
}

// identity is group/Kind/namespace/name of a decoded object, its namespace defaulted as the
// Builder will; empty for objects named only by generateName, which the API server names anew.
func identity(d decoded, defaultNS string) string {
	if d.id == "" || d.name == "" {
		return ""
	}
	group, _, _ := strings.Cut(d.apiVersion, "/")
	if !strings.Contains(d.apiVersion, "/") {
		group = ""
	}
	return strings.Join([]string{group, d.kind, effectiveNamespace(d, defaultNS), d.name}, "/")
}

// effectiveNamespace is the namespace the object will be in.
func effectiveNamespace(d decoded, defaultNS string) string {
	if d.namespace == "" && d.typed != nil && inventory.Namespaced(d.typed) {
		return defaultNS
	}
	return d.namespace
}

// discover expands a path into the units it holds: a chart or Kustomize directory is one unit;
// another directory holds the manifests, charts and Kustomize directories below it.
func discover(path string) ([]unit, []inventory.Problem) {
	if path == "-" {
		return []unit{{kind: "stdin", path: "-"}}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, []inventory.Problem{{File: path, Message: describeIOError(err)}}
	}
	if !info.IsDir() {
		// A packaged chart (helm package) is a gzipped tar the Helm loader reads directly.
		if lower := strings.ToLower(path); strings.HasSuffix(lower, ".tgz") || strings.HasSuffix(lower, ".tar.gz") {
			return []unit{{kind: "helm", path: path}}, nil
		}
		return []unit{{kind: "file", path: path}}, nil
	}
	if k := dirKind(path); k != "" {
		return []unit{{kind: k, path: path}}, nil
	}
	var units []unit
	var problems []inventory.Problem
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, inventory.Problem{File: p, Message: describeIOError(err)})
			return nil
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p == path {
				return nil
			}
			if k := dirKind(p); k != "" {
				units = append(units, unit{kind: k, path: p})
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			units = append(units, unit{kind: "file", path: p})
		}
		return nil
	})
	if err != nil {
		problems = append(problems, inventory.Problem{File: path, Message: describeIOError(err)})
	}
	return units, problems
}

// dirKind says whether a directory is a Helm chart or a Kustomize root.
func dirKind(dir string) string {
	if exists(filepath.Join(dir, "Chart.yaml")) {
		return "helm"
	}
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if exists(filepath.Join(dir, n)) {
			return "kustomize"
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func describeIOError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

func readUnit(ctx context.Context, u unit, opts Options) ([]decoded, []inventory.Problem) {
	switch u.kind {
	case "helm":
		return renderHelm(ctx, u.path, opts)
	case "kustomize":
		return buildKustomize(u.path, opts)
	case "stdin":
		if opts.Stdin == nil {
			return nil, []inventory.Problem{{File: "-", Message: "no standard input to read"}}
		}
		data, err := readLimited(opts.Stdin, opts.Limits.MaxFileBytes)
		if err != nil {
			return nil, []inventory.Problem{{File: "(stdin)", Message: err.Error()}}
		}
		return parseStream(data, inventory.Origin{File: "(stdin)"}, opts.Limits), nil
	}
	f, err := os.Open(u.path)
	if err != nil {
		return nil, []inventory.Problem{{File: u.path, Message: describeIOError(err)}}
	}
	defer f.Close()
	data, err := readLimited(f, opts.Limits.MaxFileBytes)
	if err != nil {
		return nil, []inventory.Problem{{File: u.path, Message: err.Error()}}
	}
	return parseStream(data, inventory.Origin{File: u.path}, opts.Limits), nil
}

// readLimited reads all of r, refusing input larger than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, errors.New(describeIOError(err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file is larger than the %d MiB limit; split it or raise --max-file-size", limit>>20)
	}
	return data, nil
}

// parseStream reads every document of a YAML or JSON stream. base gives the file (and, for
// rendered output, the chart or Kustomize directory); lines are filled in per document.
func parseStream(data []byte, base inventory.Origin, lim Limits) []decoded {
	docs := splitDocuments(data)
	out := make([][]decoded, len(docs))
	parse := func(i int) {
		d := docs[i]
		origin := base
		origin.Line = d.line
		m, node, err := parseDocument(d.body, d.line-1, lim)
		if err != nil {
			line := d.line
			var se *SyntaxError
			if errors.As(err, &se) && se.Line > 0 {
				line = se.Line
			}
			out[i] = []decoded{{problem: &inventory.Problem{File: base.File, Line: line, Message: err.Error()}}}
			return
		}
		if m == nil {
			return
		}
		origin.Line = firstContentLine(node, d.line-1)
		out[i] = expand(m, node, origin, d.line-1)
	}
	if len(docs) < 64 {
		for i := range docs {
			parse(i)
		}
	} else {
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(docs); i += workers {
					parse(i)
				}
			}()
		}
		wg.Wait()
	}
	return slices.Concat(out...)
}

// firstContentLine is the line of the document's first key: where a reader sees the object start.
func firstContentLine(n *yaml.Node, offset int) int {
	if n != nil && n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		return n.Content[0].Line + offset
	}
	if n != nil {
		return n.Line + offset
	}
	return offset + 1
}

// expand decodes one document, unpacking List kinds (v1 List, DeploymentList and the like).
func expand(m map[string]any, node *yaml.Node, origin inventory.Origin, offset int) []decoded {
	kind, _ := m["kind"].(string)
	items, isList := m["items"].([]any)
	if !strings.HasSuffix(kind, "List") || (!isList && m["items"] != nil) {
		return []decoded{decode(m, node, offset, origin, containerLines(node, offset))}
	}
	itemNodes := listItemNodes(node)
	var out []decoded
	for i, it := range items {
		o := origin
		var itemNode *yaml.Node
		if i < len(itemNodes) {
			itemNode = itemNodes[i]
			o.Line = firstContentLine(itemNode, offset)
		}
		im, ok := it.(map[string]any)
		if !ok {
			out = append(out, decoded{problem: &inventory.Problem{File: o.File, Line: o.Line,
				Message: fmt.Sprintf("item %d of the %s is not an object", i, kind)}})
			continue
		}
		im = typedItem(im, m, kind)
		out = append(out, decode(im, itemNode, offset, o, containerLines(itemNode, offset)))
	}
	return out
}

// typedItem gives an item of a typed list (PodList, DeploymentList, ... as the API server returns
// them, whose items carry no kind or apiVersion) the kind and apiVersion of its list. Items of a
// v1 List, and items that name their own, are left as they are.
func typedItem(item, list map[string]any, listKind string) map[string]any {
	itemKind := strings.TrimSuffix(listKind, "List")
	if itemKind == "" {
		return item
	}
	_, hasKind := item["kind"]
	_, hasVersion := item["apiVersion"]
	if hasKind && hasVersion {
		return item
	}
	out := make(map[string]any, len(item)+2)
	for k, v := range item {
		out[k] = v
	}
	if !hasKind {
		out["kind"] = itemKind
	}
	if !hasVersion {
		if v, ok := list["apiVersion"].(string); ok {
			out["apiVersion"] = v
		}
	}
	return out
}

func listItemNodes(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "items" && n.Content[i+1].Kind == yaml.SequenceNode {
			return n.Content[i+1].Content
		}
	}
	return nil
}
