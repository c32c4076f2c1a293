package node

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"redoubt.dev/redoubt/internal/inventory"
)

// MaxAuditPolicyRules caps the rules read from an audit policy.
const MaxAuditPolicyRules = 10000

// AuditPolicyRules reads an audit Policy (audit.k8s.io/v1) and returns its rules in order.
func AuditPolicyRules(data []byte) ([]inventory.AuditPolicyRule, error) {
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxConfigBytes)
	}
	var doc struct {
		Kind  string `json:"kind"`
		Rules []struct {
			Level           string   `json:"level"`
			Users           []string `json:"users"`
			UserGroups      []string `json:"userGroups"`
			Verbs           []string `json:"verbs"`
			Namespaces      []string `json:"namespaces"`
			NonResourceURLs []string `json:"nonResourceURLs"`
			Resources       []struct {
				Group         string   `json:"group"`
				Resources     []string `json:"resources"`
				ResourceNames []string `json:"resourceNames"`
			} `json:"resources"`
		} `json:"rules"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not an audit Policy: %v", err)
	}
	if doc.Kind != "Policy" {
		return nil, fmt.Errorf("kind %q, want Policy (audit.k8s.io/v1)", doc.Kind)
	}
	if len(doc.Rules) > MaxAuditPolicyRules {
		return nil, fmt.Errorf("%d rules, more than %d", len(doc.Rules), MaxAuditPolicyRules)
	}
	out := make([]inventory.AuditPolicyRule, 0, len(doc.Rules))
	for _, r := range doc.Rules {
		rule := inventory.AuditPolicyRule{Level: r.Level, Users: r.Users, UserGroups: r.UserGroups, Verbs: r.Verbs,
			Namespaces: r.Namespaces, NonResourceURLs: r.NonResourceURLs}
		for _, g := range r.Resources {
			rule.Resources = append(rule.Resources, inventory.AuditGroupResources{Group: g.Group, Resources: g.Resources, ResourceNames: g.ResourceNames})
		}
		out = append(out, rule)
	}
	return out, nil
}
