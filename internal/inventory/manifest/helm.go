package manifest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"redoubt.dev/redoubt/internal/inventory"
)

// renderKubeVersion is the Kubernetes version charts are rendered for: the newest this build
// knows, so charts that switch on .Capabilities.KubeVersion pick their current APIs.
const renderKubeVersion = "v1.37.0"

// renderHelm renders a chart as `helm template` would, with the chart's default values and any
// values files, and reads the rendered manifests. Objects name the template file they came
// from; lines are lines of the rendered template.
func renderHelm(ctx context.Context, dir string, opts Options) ([]decoded, []inventory.Problem) {
	fail := func(format string, args ...any) ([]decoded, []inventory.Problem) {
		return nil, []inventory.Problem{{File: dir, Message: "helm chart: " + fmt.Sprintf(format, args...)}}
	}
	ch, err := loader.Load(dir)
	if err != nil {
		return fail("%v", err)
	}
	if missing := missingDependencies(ch); len(missing) > 0 {
		return fail("dependencies %s are listed in Chart.yaml but missing from charts/ (run `helm dependency build %s`)",
			strings.Join(missing, ", "), dir)
	}
	vals := map[string]any{}
	for _, f := range opts.ValuesFiles {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, []inventory.Problem{{File: f, Message: fmt.Sprintf("values file: %v", err)}}
		}
		vals = mergeValues(vals, v)
	}
	name := opts.ReleaseName
	if name == "" {
		name = "release"
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: renderKubeVersion, Major: "1", Minor: "37"}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: name, Namespace: ns, IsInstall: true, Revision: 1}, caps)
	if err != nil {
		return fail("values: %v", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil
	}
	rendered, err := engine.Render(ch, rv)
	if err != nil {
		return fail("render: %v", err)
	}
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []decoded
	var problems []inventory.Problem
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasPrefix(base, "_") || strings.EqualFold(base, "NOTES.txt") || strings.TrimSpace(rendered[n]) == "" {
			continue
		}
		// "shop/templates/web.yaml" is dir/templates/web.yaml on disk.
		_, rel, _ := strings.Cut(n, "/")
		file := filepath.Join(dir, rel)
		if int64(len(rendered[n])) > opts.Limits.MaxFileBytes {
			problems = append(problems, inventory.Problem{File: file, Message: "rendered template is larger than the file size limit"})
			continue
		}
		out = append(out, parseStream([]byte(rendered[n]), inventory.Origin{File: file, Rendered: "helm:" + dir}, opts.Limits)...)
	}
	return out, problems
}

func missingDependencies(ch *chart.Chart) []string {
	if ch.Metadata == nil {
		return nil
	}
	var missing []string
	for _, req := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(d *chart.Chart) bool { return d.Name() == req.Name }) {
			missing = append(missing, req.Name)
		}
	}
	return missing
}

// mergeValues deep-merges src over dst, as successive `helm -f` files do.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}
