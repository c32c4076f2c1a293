package manifest

import (
	"path/filepath"
	"strings"
	"testing"
)

const chartYAML = "apiVersion: v2\nname: app\nversion: 0.1.0\n"

const chartDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: app:1.0
          securityContext:
            privileged: {{ .Values.privileged }}
`

func TestHelmRendersDefaultsAndValues(t *testing.T) {
	dir := write(t, map[string]string{
		"chart/Chart.yaml":                chartYAML,
		"chart/values.yaml":               "replicas: 2\nprivileged: false\n",
		"chart/templates/deployment.yaml": chartDeployment,
		"chart/templates/_helpers.tpl":    `{{- define "x" }}x{{ end }}`,
		"chart/templates/NOTES.txt":       "Thanks for installing {{ .Release.Name }}",
		"prod.yaml":                       "privileged: true\n",
		"more.yaml":                       "replicas: 5\n",
	})
	chart := filepath.Join(dir, "chart")

	s := load(t, Options{}, chart)
	if p := problems(s, dir); p != "" {
		t.Fatalf("unexpected problems:\n%s", p)
	}
	if len(s.Workloads) != 1 {
		t.Fatalf("%d workloads, want 1", len(s.Workloads))
	}
	w := s.Workloads[0]
	if w.Name != "release-app" || w.Namespace != "default" || *w.Replicas != 2 {
		t.Errorf("rendered %s with %d replicas, want default/release-app with 2", w.Key(), *w.Replicas)
	}
	if want := filepath.Join(chart, "templates", "deployment.yaml"); w.Origin.File != want || w.Origin.Line != 1 || w.Origin.Rendered != "helm:"+chart {
		t.Errorf("origin = %+v, want the template file, line 1, rendered by helm", w.Origin)
	}
	if c := w.Template.Spec.Containers[0].SecurityContext; c == nil || *c.Privileged {
		t.Errorf("default values not applied")
	}

	s = load(t, Options{ValuesFiles: []string{filepath.Join(dir, "prod.yaml"), filepath.Join(dir, "more.yaml")},
		Namespace: "prod", ReleaseName: "shop"}, chart)
	w = s.Workloads[0]
	if w.Key() != "prod/Deployment/shop-app" || *w.Replicas != 5 || !*w.Template.Spec.Containers[0].SecurityContext.Privileged {
		t.Errorf("values files not applied in order: %s replicas %d", w.Key(), *w.Replicas)
	}
}

func TestHelmFailures(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"template error", map[string]string{
			"chart/Chart.yaml":         chartYAML,
			"chart/templates/bad.yaml": "{{ required \"image.tag is required\" .Values.image }}\n",
		}, "image.tag is required"},
		{"missing dependency", map[string]string{
			"chart/Chart.yaml": chartYAML + "dependencies:\n- name: redis\n  version: 1.0.0\n  repository: file://../redis\n",
		}, "dependencies redis are listed in Chart.yaml but missing from charts/"},
		{"values schema", map[string]string{
			"chart/Chart.yaml":         chartYAML,
			"chart/values.yaml":        "replicas: many\n",
			"chart/values.schema.json": `{"type": "object", "properties": {"replicas": {"type": "integer"}}}`,
		}, "replicas"},
		{"rendered YAML broken", map[string]string{
			"chart/Chart.yaml":         chartYAML,
			"chart/templates/bad.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n",
		}, "templates/bad.yaml:4:"}, // the unclosed [ is on line 4
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, tc.files)
			s := load(t, Options{}, filepath.Join(dir, "chart"))
			got := problems(s, dir)
			if !strings.Contains(got, tc.want) || !strings.HasPrefix(got, "chart") {
				t.Errorf("problem %q does not name the chart and say %q", got, tc.want)
			}
		})
	}
}

func TestKustomizeOrigins(t *testing.T) {
	deploy := strings.NewReplacer("{{ .Values.replicas }}", "3", "{{ .Values.privileged }}", "true",
		"{{ .Release.Name }}-app", "app").Replace(chartDeployment)
	dir := write(t, map[string]string{
		"base/kustomization.yaml": "resources:\n- service.yaml\n- deployment.yaml\n",
		"base/service.yaml":       "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: app}\n  ports: [{port: 80}]\n",
		"base/deployment.yaml":    "# the app\n---\n" + deploy,
		"prod/kustomization.yaml": "namespace: prod\nnamePrefix: prod-\nresources:\n- ../base\nconfigMapGenerator:\n- name: settings\n  literals: [a=b]\n",
	})
	s := load(t, Options{}, filepath.Join(dir, "prod"))
	if p := problems(s, dir); p != "" {
		t.Fatalf("unexpected problems:\n%s", p)
	}
	if len(s.Workloads) != 1 || len(s.Services) != 1 || len(s.ConfigMaps) != 1 {
		t.Fatalf("got %d workloads, %d services, %d configmaps", len(s.Workloads), len(s.Services), len(s.ConfigMaps))
	}
	w := s.Workloads[0]
	if w.Key() != "prod/Deployment/prod-app" {
		t.Errorf("kustomize transformations not applied: %s", w.Key())
	}
	if want := filepath.Join(dir, "base", "deployment.yaml"); w.Origin.File != want || w.Origin.Line != 3 {
		t.Errorf("origin = %s, want base/deployment.yaml:3", w.Origin)
	}
	if _, ok := w.Annotations[originAnnotation]; ok {
		t.Errorf("the origin annotation Redoubt asked for leaked into the object")
	}
	if svc := s.Services[0]; svc.Origin.File != filepath.Join(dir, "base", "service.yaml") || svc.Origin.Line != 1 {
		t.Errorf("service origin = %s", svc.Origin)
	}
	if len(w.Services) != 1 {
		t.Errorf("kustomized service does not select the kustomized deployment")
	}
}

func TestKustomizeFailure(t *testing.T) {
	dir := write(t, map[string]string{"k/kustomization.yaml": "resources:\n- missing.yaml\n"})
	s := load(t, Options{}, filepath.Join(dir, "k"))
	got := problems(s, dir)
	if !strings.HasPrefix(got, "k: kustomize build:") || !strings.Contains(got, "missing.yaml") {
		t.Errorf("problem %q does not name the directory and the missing file", got)
	}
}

func TestHelmPackagedChart(t *testing.T) {
	dir := write(t, map[string]string{
		"chart/Chart.yaml":                chartYAML,
		"chart/values.yaml":               "replicas: 1\nprivileged: true\n",
		"chart/templates/deployment.yaml": chartDeployment,
	})
	tgz := filepath.Join(dir, "app-0.1.0.tgz")
	if err := packageChart(filepath.Join(dir, "chart"), tgz); err != nil {
		t.Fatal(err)
	}
	s := load(t, Options{}, tgz)
	if p := problems(s, dir); p != "" || len(s.Workloads) != 1 {
		t.Fatalf("packaged chart: %d workloads, problems:\n%s", len(s.Workloads), p)
	}
	if f := s.Workloads[0].Origin.File; f != filepath.Join(tgz, "templates", "deployment.yaml") {
		t.Errorf("origin %s", f)
	}
}
