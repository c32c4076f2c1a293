// Package auditlog reads the Kubernetes API server's audit log (audit.k8s.io/v1 Event objects,
// one JSON object per line, as the log backend writes them, or an EventList as the webhook
// backend posts it) and runs detections over the events: exec into pods, unusual Secret reads,
// anonymous access, authentication failure bursts, privileged pods, RBAC escalation, admission
// webhook changes, service-account tokens used from outside the cluster and deleted evidence.
//
// Audit events are untrusted input. Lines are bounded (MaxLineBytes), unknown fields are
// ignored, every malformed line is counted and reported with its file and line number, and the
// per-subject state the detections keep is capped, so memory stays bounded whatever the size
// of the log.
//
// The package declares the Event fields it reads rather than importing k8s.io/apiserver: that
// module is not otherwise in Redoubt's module graph and would bring the API server's whole
// dependency tree for a dozen plain fields whose JSON names are a stable, versioned API.
package auditlog

import (
	"encoding/json"
	"strings"
	"time"
)

// Event is the part of an audit.k8s.io/v1 Event the detections read. Field names and JSON
// names follow k8s.io/apiserver/pkg/apis/audit/v1.Event.
type Event struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// Level is None, Metadata, Request or RequestResponse: how much of the request was logged.
	Level   string `json:"level"`
	AuditID string `json:"auditID"`
	// Stage is RequestReceived, ResponseStarted, ResponseComplete or Panic.
	Stage      string   `json:"stage"`
	RequestURI string   `json:"requestURI"`
	Verb       string   `json:"verb"`
	User       UserInfo `json:"user"`
	// ImpersonatedUser is the user the request was made as, when User impersonated someone.
	ImpersonatedUser *UserInfo       `json:"impersonatedUser,omitempty"`
	SourceIPs        []string        `json:"sourceIPs"`
	UserAgent        string          `json:"userAgent"`
	ObjectRef        *ObjectRef      `json:"objectRef,omitempty"`
	ResponseStatus   *ResponseStatus `json:"responseStatus,omitempty"`
	// RequestObject is the request body, logged at level Request and above; ResponseObject the
	// response body, at RequestResponse. Both are kept raw and decoded only by the detections
	// that need them.
	RequestObject            json.RawMessage `json:"requestObject,omitempty"`
	ResponseObject           json.RawMessage `json:"responseObject,omitempty"`
	RequestReceivedTimestamp time.Time       `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time       `json:"stageTimestamp"`
	// Annotations (the authorization decision and reason) are not read: decoding a map per event
	// costs more than the rest of the event.

	// File and Line say where the event was read; empty for events that came over the webhook.
	File string `json:"-"`
	Line int    `json:"-"`
}

// UserInfo is the authenticated user. Extra (credential ID, node name) is not read, for the
// same reason as Event.Annotations.
type UserInfo struct {
	Username string   `json:"username"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// ObjectRef names the object a request was about.
type ObjectRef struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

// ResponseStatus is the metav1.Status of the response; Code is the HTTP status code.
type ResponseStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Code    int    `json:"code,omitempty"`
}

// EventList is what the webhook backend posts: a batch of events.
type EventList struct {
	Kind       string  `json:"kind"`
	APIVersion string  `json:"apiVersion"`
	Items      []Event `json:"items"`
}

// Code returns the response's HTTP status code, or 0 when the event has none.
func (e *Event) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// Succeeded reports whether the request was allowed and done: a 1xx, 2xx or 3xx response.
// Long-running requests (exec, watch) that were upgraded answer 101.
func (e *Event) Succeeded() bool {
	c := e.Code()
	return c > 0 && c < 400
}

// Time returns when the request was received, or when the stage was reached if that is unset.
func (e *Event) Time() time.Time {
	if !e.RequestReceivedTimestamp.IsZero() {
		return e.RequestReceivedTimestamp
	}
	return e.StageTimestamp
}

// Final reports whether the event is the one a request's detections should look at: the
// ResponseComplete or Panic stage. RequestReceived and ResponseStarted events of the same request
// would count it twice. A request refused for bad credentials is the exception: the API server
// logs it once, at ResponseStarted with code 401, and never completes it. An event without a
// stage (hand-written or from another tool) counts.
func (e *Event) Final() bool {
	switch e.Stage {
	case "ResponseComplete", "Panic", "":
		return true
	case "ResponseStarted":
		return e.Code() == 401
	}
	return false
}

// Actor returns the user the request acted as (the impersonated user if there is one) and the
// user who made it when that is someone else.
func (e *Event) Actor() (as, by string) {
	if e.ImpersonatedUser != nil && e.ImpersonatedUser.Username != "" {
		return e.ImpersonatedUser.Username, e.User.Username
	}
	return e.User.Username, ""
}

// ActorGroups returns the groups of the user the request acted as.
func (e *Event) ActorGroups() []string {
	if e.ImpersonatedUser != nil && e.ImpersonatedUser.Username != "" {
		return e.ImpersonatedUser.Groups
	}
	return e.User.Groups
}

// Resource returns the object's resource, namespace, name and subresource ("" when the request
// was not about an object, such as /healthz).
func (e *Event) Resource() (resource, namespace, name, subresource string) {
	if e.ObjectRef == nil {
		return "", "", "", ""
	}
	return e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ObjectRef.Subresource
}

// IsResource reports whether the request was about resource in API group group ("" is core).
func (e *Event) IsResource(group, resource string) bool {
	return e.ObjectRef != nil && e.ObjectRef.APIGroup == group && e.ObjectRef.Resource == resource
}

// Body returns the object the request wrote: the request body when it was logged, otherwise the
// response body (the object as stored), otherwise nil.
func (e *Event) Body() json.RawMessage {
	if len(e.RequestObject) > 0 && string(e.RequestObject) != "null" {
		return e.RequestObject
	}
	if len(e.ResponseObject) > 0 && string(e.ResponseObject) != "null" {
		return e.ResponseObject
	}
	return nil
}

// IsServiceAccount reports whether a username is a service account's
// (system:serviceaccount:NAMESPACE:NAME).
func IsServiceAccount(user string) bool {
	return strings.HasPrefix(user, "system:serviceaccount:")
}

// IsSystem reports whether a username belongs to the control plane or a node rather than a
// person: service accounts, nodes, and the system:kube-* and system:apiserver identities.
func IsSystem(user string) bool {
	return strings.HasPrefix(user, "system:")
}

// kinds maps common resources to their kinds, for readable findings.
var kinds = map[string]string{
	"pods": "Pod", "secrets": "Secret", "configmaps": "ConfigMap", "services": "Service",
	"serviceaccounts": "ServiceAccount", "namespaces": "Namespace", "nodes": "Node",
	"events": "Event", "deployments": "Deployment", "daemonsets": "DaemonSet",
	"statefulsets": "StatefulSet", "replicasets": "ReplicaSet", "jobs": "Job", "cronjobs": "CronJob",
	"roles": "Role", "clusterroles": "ClusterRole", "rolebindings": "RoleBinding",
	"clusterrolebindings":               "ClusterRoleBinding",
	"validatingwebhookconfigurations":   "ValidatingWebhookConfiguration",
	"mutatingwebhookconfigurations":     "MutatingWebhookConfiguration",
	"validatingadmissionpolicies":       "ValidatingAdmissionPolicy",
	"validatingadmissionpolicybindings": "ValidatingAdmissionPolicyBinding",
	"mutatingadmissionpolicies":         "MutatingAdmissionPolicy",
	"mutatingadmissionpolicybindings":   "MutatingAdmissionPolicyBinding",
	"networkpolicies":                   "NetworkPolicy", "tokenreviews": "TokenReview",
}

// KindOf returns the kind of a resource ("pods" -> "Pod"), or the resource itself when unknown.
func KindOf(resource string) string {
	if k, ok := kinds[resource]; ok {
		return k
	}
	return resource
}
