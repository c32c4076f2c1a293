package manifest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"redoubt.dev/redoubt/internal/inventory"
)

// Scheme knows every kind Redoubt decodes into typed objects: client-go's built-in kinds and
// the policy.networking.k8s.io AdminNetworkPolicy kinds.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := anpv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// strict decoding reports unknown and duplicate fields, as kubectl apply does by default.
var decoder = serializer.NewCodecFactory(Scheme, serializer.EnableStrict).UniversalDeserializer()

// current is the served apiVersion of each workload kind. An object of one of these kinds in
// another version will not be accepted by a current API server.
var current = map[string]string{
	"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
	"Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1", "Ingress": "networking.k8s.io/v1",
	"NetworkPolicy": "networking.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
	"ClusterRole": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
	"ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
}

// decoded is one object read from a document, ready for the Builder.
type decoded struct {
	typed   runtime.Object
	other   *inventory.Unstructured
	origin  inventory.Origin
	lines   map[string]int
	problem *inventory.Problem
	// id is group/Kind/namespace/name as written, for duplicate detection.
	id string
	// apiVersion, kind, namespace and name are as written.
	apiVersion, kind, namespace, name string
}

// decode turns one parsed object into a typed object (or an Unstructured for kinds Redoubt does
// not model). Problems name the object; the object is still returned when it could be read.
// node is the object's YAML (nil for rendered JSON), offset the line its document starts after:
// they place unknown fields on their own line.
func decode(m map[string]any, node *yaml.Node, offset int, origin inventory.Origin, lines map[string]int) decoded {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	d := decoded{origin: origin, lines: lines}
	label := kind
	if name != "" && kind != "" {
		label = fmt.Sprintf("%s %q", kind, name)
	}
	problem := func(format string, args ...any) *inventory.Problem {
		return &inventory.Problem{File: origin.File, Line: origin.Line, Object: label, Message: fmt.Sprintf(format, args...)}
	}
	if apiVersion == "" || kind == "" {
		d.problem = problem("document has no apiVersion or kind: not a Kubernetes object")
		return d
	}
	if name == "" {
		if gn, _ := meta["generateName"].(string); gn == "" {
			d.problem = problem("object has no metadata.name")
			return d
		}
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		d.problem = problem("apiVersion %q: %v", apiVersion, err)
		return d
	}
	d.id = strings.Join([]string{gv.Group, kind, namespace, name}, "/")
	d.apiVersion, d.kind, d.namespace, d.name = apiVersion, kind, namespace, name
	gvk := gv.WithKind(kind)
	if want, ok := current[kind]; ok && (gv.Group == wantGroup(want) || legacyGroup(gv.Group)) && apiVersion != want {
		d.problem = problem("apiVersion %s is not served by current Kubernetes for %s; use %s", apiVersion, kind, want)
		return d
	}
	if !Scheme.Recognizes(gvk) {
		d.other = unstructured(m, apiVersion, kind, namespace, name, origin)
		return d
	}
	raw, err := json.Marshal(m)
	if err != nil {
		d.problem = problem("%v", err)
		return d
	}
	obj, _, err := decoder.Decode(raw, nil, nil)
	if err != nil {
		if obj == nil || !runtime.IsStrictDecodingError(err) {
			d.problem = problem("%s", cleanDecodeError(err))
			return d
		}
		// Unknown or duplicate fields: kubectl would refuse the object, so it is an input
		// error, but the object is still audited as the API server would have stored it.
		d.problem = problem("%s", cleanDecodeError(err))
		if l := fieldLine(err.Error(), node); l > 0 {
			d.problem.Line = l + offset
		}
	}
	d.typed = obj
	if !modeled(obj) {
		d.typed = nil
		d.other = unstructured(m, apiVersion, kind, namespace, name, origin)
	}
	return d
}

func wantGroup(apiVersion string) string {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.Group
}

// legacyGroup is a group that once served workload kinds now served elsewhere.
func legacyGroup(g string) bool { return g == "extensions" }

func cleanDecodeError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "strict decoding error: ")
	return s
}

func unstructured(m map[string]any, apiVersion, kind, namespace, name string, origin inventory.Origin) *inventory.Unstructured {
	u := &inventory.Unstructured{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name, Origin: origin, Object: m}
	if meta, ok := m["metadata"].(map[string]any); ok {
		if l, ok := meta["labels"].(map[string]any); ok {
			u.Labels = map[string]string{}
			for k, v := range l {
				if s, ok := v.(string); ok {
					u.Labels[k] = s
				}
			}
		}
	}
	return u
}

// fieldLine is the line, within its document, of the first field a strict decoding error names
// (`unknown field "spec.containers[0].imagePullPolice"`), or 0 when it cannot be found.
func fieldLine(msg string, node *yaml.Node) int {
	const marker = ` field "`
	i := strings.Index(msg, marker)
	if i < 0 || node == nil {
		return 0
	}
	path, _, ok := strings.Cut(msg[i+len(marker):], `"`)
	if !ok {
		return 0
	}
	line := 0
	n := node
	for seg := range strings.SplitSeq(path, ".") {
		key, indexes, _ := strings.Cut(seg, "[")
		if n = mappingValue(n, key, &line); n == nil {
			return line
		}
		for idx := range strings.SplitSeq(indexes, "[") {
			if idx == "" {
				continue
			}
			k, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if n.Kind == yaml.AliasNode {
				n = n.Alias
			}
			if err != nil || n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

// mappingValue returns the value of key in mapping n and sets line to the key's line, or
// returns nil when n holds no such key.
func mappingValue(n *yaml.Node, key string, line *int) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			*line = n.Content[i].Line
			return n.Content[i+1]
		}
	}
	return nil
}
