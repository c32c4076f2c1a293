package manifest

import (
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"redoubt.dev/redoubt/internal/inventory"
)

const originAnnotation = "config.kubernetes.io/origin"

// buildKustomize builds a Kustomize directory as `kustomize build` would (plugins off, loads
// restricted to the root) and reads the result. Kustomize is asked to annotate each object with
// the file it came from, so findings name the resource file, not the kustomization.
func buildKustomize(dir string, opts Options) ([]decoded, []inventory.Problem) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, []inventory.Problem{{File: dir, Message: err.Error()}}
	}
	fsys := originFS{FileSystem: filesys.MakeFsOnDisk(), root: abs}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fsys, abs)
	if err != nil {
		return nil, []inventory.Problem{{File: dir, Message: "kustomize build: " + strings.ReplaceAll(err.Error(), abs+"/", "")}}
	}
	data, err := m.AsYaml()
	if err != nil {
		return nil, []inventory.Problem{{File: dir, Message: "kustomize build: " + err.Error()}}
	}
	if int64(len(data)) > opts.Limits.MaxFileBytes {
		return nil, []inventory.Problem{{File: dir, Message: "kustomize output is larger than the file size limit"}}
	}
	out := parseStream(data, inventory.Origin{File: dir, Rendered: "kustomize:" + dir}, opts.Limits)
	lines := lineFinder{}
	for i := range out {
		d := &out[i]
		src, name := takeOrigin(d)
		if src == "" {
			continue
		}
		var o struct {
			Path string `yaml:"path"`
		}
		if src == "" || yaml.Unmarshal([]byte(src), &o) != nil || o.Path == "" {
			continue
		}
		file := filepath.Join(dir, o.Path)
		kind := ""
		if d.typed != nil {
			kind = d.typed.GetObjectKind().GroupVersionKind().Kind
		} else if d.other != nil {
			kind = d.other.Kind
		}
		d.origin.File = file
		d.origin.Line = lines.find(file, kind, name)
		if d.other != nil {
			d.other.Origin = d.origin
		}
		if d.problem != nil {
			d.problem.File, d.problem.Line = d.origin.File, d.origin.Line
		}
		// Container lines refer to the rendered stream; in the source file they are unknown.
		d.lines = nil
	}
	return out, nil
}

// takeOrigin removes the origin annotation Redoubt asked Kustomize to add, and returns it with
// the object's name.
func takeOrigin(d *decoded) (origin, name string) {
	type annotated interface {
		GetName() string
		GetAnnotations() map[string]string
		SetAnnotations(map[string]string)
	}
	if a, ok := d.typed.(annotated); ok && d.typed != nil {
		ann := a.GetAnnotations()
		origin = ann[originAnnotation]
		delete(ann, originAnnotation)
		if len(ann) == 0 {
			ann = nil
		}
		a.SetAnnotations(ann)
		return origin, a.GetName()
	}
	if d.other == nil {
		return "", ""
	}
	meta, _ := d.other.Object["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	origin, _ = ann[originAnnotation].(string)
	delete(ann, originAnnotation)
	if len(ann) == 0 {
		delete(meta, "annotations")
	}
	return origin, d.other.Name
}

// lineFinder finds the line of an object in a resource file Kustomize read.
type lineFinder map[string][]decoded

func (lf lineFinder) find(file, kind, name string) int {
	docs, ok := lf[file]
	if !ok {
		data, err := os.ReadFile(file)
		if err == nil && len(data) <= int(DefaultLimits.MaxFileBytes) {
			docs = parseStream(data, inventory.Origin{File: file}, DefaultLimits)
		}
		lf[file] = docs
	}
	best := 0
	for _, d := range docs {
		parts := strings.Split(d.id, "/")
		if len(parts) != 4 || parts[1] != kind {
			continue
		}
		// Kustomize may add a prefix or suffix to the name.
		if parts[3] == name {
			return d.origin.Line
		}
		if best == 0 && parts[3] != "" && strings.Contains(name, parts[3]) {
			best = d.origin.Line
		}
	}
	if best == 0 {
		best = 1
	}
	return best
}

// originFS is the disk, except that the root kustomization asks for origin annotations.
type originFS struct {
	filesys.FileSystem
	root string
}

func (f originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || filepath.Dir(path) != f.root || !isKustomization(filepath.Base(path)) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil
	}
	bm, _ := k["buildMetadata"].([]any)
	for _, x := range bm {
		if x == types.OriginAnnotations {
			return data, nil
		}
	}
	k["buildMetadata"] = append(bm, types.OriginAnnotations)
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	return out, nil
}

func isKustomization(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}
