package netcheck

import (
	"strings"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/inventory"
)

// SensitiveAnnotation marks a workload (or every workload of a namespace) as sensitive.
const SensitiveAnnotation = "redoubt.dev/sensitive"

// datastores are image names (the last path element of the repository) of software that holds
// data: a workload running one is sensitive unless annotated redoubt.dev/sensitive: "false".
var datastores = []string{"postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "redis", "valkey",
	"memcached", "elasticsearch", "opensearch", "cassandra", "etcd", "vault", "rabbitmq", "kafka", "zookeeper",
	"couchdb", "influxdb", "clickhouse", "minio", "neo4j", "cockroach", "cockroachdb", "mssql-server", "oracle"}

// Sensitive says whether a workload is sensitive, and why: the redoubt.dev/sensitive
// annotation on the workload or its namespace, a network.sensitive selector in the policy file,
// or a well-known datastore image.
func Sensitive(s *inventory.Snapshot, cfg *config.Config, w *inventory.Workload) (bool, string) {
	if v, ok := annotation(w); ok {
		return v == "true", "is annotated " + SensitiveAnnotation + "=" + v
	}
	if ns := s.Namespace(w.Namespace); ns != nil {
		if v, ok := ns.Annotations[SensitiveAnnotation]; ok && v == "true" {
			return true, "is in namespace " + w.Namespace + ", annotated " + SensitiveAnnotation + "=true"
		}
	}
	for _, sel := range cfg.Network.Sensitive {
		if sel.Matches(w.Namespace, w.Kind, w.Name, w.Template.Labels) {
			return true, "is selected by network.sensitive in " + cfg.File
		}
	}
	for _, c := range w.Template.Spec.Containers {
		if name := imageName(c.Image); name != "" {
			for _, d := range datastores {
				if name == d {
					return true, "runs " + d + " (image " + c.Image + ")"
				}
			}
		}
	}
	return false, ""
}

func annotation(w *inventory.Workload) (string, bool) {
	if v, ok := w.Annotations[SensitiveAnnotation]; ok {
		return v, true
	}
	v, ok := w.Template.Annotations[SensitiveAnnotation]
	return v, ok
}

// imageName is the last path element of an image reference, without tag or digest.
func imageName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		ref = ref[:i]
	}
	return ref
}
