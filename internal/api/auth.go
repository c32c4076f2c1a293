package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Group is the API group of the virtual resources the API authorizes against. No such API is
// served by the Kubernetes API server: RBAC rules name it so that cluster RBAC decides who may
// read findings and who may add exceptions (docs/api.md).
const Group = "redoubt.dev"

// The virtual resources, one per kind of data the API serves.
const (
	ResourceFindings   = "findings"   // findings, their history, and the workloads derived from them
	ResourceScans      = "scans"      // stored audits
	ResourceImages     = "images"     // image inventories and vulnerability matches
	ResourceExceptions = "exceptions" // exceptions added through the API
)

// User is an authenticated caller, as the Kubernetes API server's TokenReview names them.
type User struct {
	Name   string              `json:"username"`
	UID    string              `json:"uid,omitempty"`
	Groups []string            `json:"groups,omitempty"`
	Extra  map[string][]string `json:"extra,omitempty"`
}

// Attributes are what a request wants to do: a verb (get, list, create) on a virtual resource,
// in a namespace ("" for all namespaces) and optionally on one named object.
type Attributes struct {
	Verb      string
	Resource  string
	Namespace string
	Name      string
}

func (a Attributes) String() string {
	s := a.Verb + " " + Group + "/" + a.Resource
	if a.Name != "" {
		s += " " + a.Name
	}
	if a.Namespace != "" {
		return s + " in namespace " + a.Namespace
	}
	return s + " in all namespaces"
}

// ErrUnauthenticated is returned by an Authenticator for a token it does not accept.
var ErrUnauthenticated = errors.New("the token is not valid")

// Authenticator turns a bearer token into a user. It returns an error wrapping
// ErrUnauthenticated for a token that is not valid, and any other error when it could not
// decide (the API server is unreachable), which the API reports as 503, never as success.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*User, error)
}

// Authorizer decides whether a user may do something. reason explains a denial when the
// authorizer gives one. An error means it could not decide; the request is then refused.
type Authorizer interface {
	Authorize(ctx context.Context, u *User, a Attributes) (allowed bool, reason string, err error)
}

// KubernetesOptions tune a Kubernetes authenticator and authorizer.
type KubernetesOptions struct {
	// Audiences are passed in each TokenReview; empty means the API server's own audiences.
	Audiences []string
	// TokenTTL is how long an accepted token is remembered (default 1 minute); InvalidTokenTTL
	// how long a rejected one is (default 10 seconds). Negative disables caching.
	TokenTTL, InvalidTokenTTL time.Duration
	// AllowTTL is how long an allowed decision is remembered (default 30 seconds); DenyTTL how
	// long a denial is (default 5 seconds), so that new RBAC takes effect quickly. Negative
	// disables caching.
	AllowTTL, DenyTTL time.Duration
	// CacheSize bounds each cache (default 4096 entries).
	CacheSize int
	// Timeout bounds each review request (default 10 seconds).
	Timeout time.Duration
}

// Kubernetes authenticates with TokenReview (authentication.k8s.io/v1) and authorizes with
// SubjectAccessReview (authorization.k8s.io/v1) through the Kubernetes API server, with
// brief, bounded caches of both answers. The identity it runs as needs create on tokenreviews
// and subjectaccessreviews (the system:auth-delegator ClusterRole).
type Kubernetes struct {
	client    kubernetes.Interface
	opts      KubernetesOptions
	tokens    *cache[tokenAnswer]
	decisions *cache[decision]
	// flight makes concurrent misses for one token or one decision (a dashboard opening with a
	// fresh token sends several requests at once) share one review.
	flight singleflight.Group
}

type tokenAnswer struct {
	user   *User
	reason string // why the token was rejected, when user is nil
}

type decision struct {
	allowed bool
	reason  string
}

// NewKubernetes returns an authenticator and authorizer that asks the API server client talks to.
func NewKubernetes(client kubernetes.Interface, opts KubernetesOptions) *Kubernetes {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.TokenTTL, time.Minute)
	def(&opts.InvalidTokenTTL, 10*time.Second)
	def(&opts.AllowTTL, 30*time.Second)
	def(&opts.DenyTTL, 5*time.Second)
	def(&opts.Timeout, 10*time.Second)
	if opts.CacheSize <= 0 {
		opts.CacheSize = 4096
	}
	return &Kubernetes{client: client, opts: opts,
		tokens: newCache[tokenAnswer](opts.CacheSize), decisions: newCache[decision](opts.CacheSize)}
}

// Authenticate implements Authenticator with a TokenReview.
func (k *Kubernetes) Authenticate(ctx context.Context, token string) (*User, error) {
	// The cache is keyed by a hash so that it never holds a usable credential.
	key := fmt.Sprintf("%x", sha256.Sum256([]byte(token)))
	if a, ok := k.tokens.get(key, time.Now()); ok {
		return a.answer()
	}
	v, err, _ := k.flight.Do("t"+key, func() (any, error) { return k.reviewToken(ctx, key, token) })
	if err != nil {
		return nil, err
	}
	return v.(tokenAnswer).answer()
}

// reviewToken sends one TokenReview and caches its answer.
func (k *Kubernetes) reviewToken(ctx context.Context, key, token string) (tokenAnswer, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.opts.Timeout)
	defer cancel()
	review := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: k.opts.Audiences}}
	got, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("TokenReview: %w", err)
	}
	var a tokenAnswer
	ttl := k.opts.InvalidTokenTTL
	if got.Status.Authenticated {
		u := got.Status.User
		a.user = &User{Name: u.Username, UID: u.UID, Groups: u.Groups}
		if len(u.Extra) > 0 {
			a.user.Extra = make(map[string][]string, len(u.Extra))
			for k, v := range u.Extra {
				a.user.Extra[k] = v
			}
		}
		ttl = k.opts.TokenTTL
	} else {
		a.reason = got.Status.Error
	}
	if ttl > 0 {
		k.tokens.put(key, a, time.Now().Add(ttl))
	}
	return a, nil
}

func (a tokenAnswer) answer() (*User, error) {
	if a.user != nil {
		return a.user, nil
	}
	if a.reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrUnauthenticated, a.reason)
	}
	return nil, ErrUnauthenticated
}

// Authorize implements Authorizer with a SubjectAccessReview on the virtual resource.
func (k *Kubernetes) Authorize(ctx context.Context, u *User, a Attributes) (bool, string, error) {
	key := decisionKey(u, a)
	if d, ok := k.decisions.get(key, time.Now()); ok {
		return d.allowed, d.reason, nil
	}
	v, err, _ := k.flight.Do("d"+key, func() (any, error) { return k.reviewAccess(ctx, key, u, a) })
	if err != nil {
		return false, "", err
	}
	d := v.(decision)
	return d.allowed, d.reason, nil
}

// reviewAccess sends one SubjectAccessReview and caches its decision.
func (k *Kubernetes) reviewAccess(ctx context.Context, key string, u *User, a Attributes) (decision, error) {
	// The review is shared by every request waiting on it, so one caller going away must not
	// cancel it for the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.opts.Timeout)
	defer cancel()
	spec := authzv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Group: Group, Version: "v1", Resource: a.Resource, Verb: a.Verb,
			Namespace: a.Namespace, Name: a.Name,
		},
	}
	if len(u.Extra) > 0 {
		spec.Extra = make(map[string]authzv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			spec.Extra[k] = v
		}
	}
	got, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	d := decision{allowed: got.Status.Allowed && !got.Status.Denied, reason: got.Status.Reason}
	if got.Status.EvaluationError != "" && !d.allowed {
		// An evaluation error with a denial is still a denial, but it must not be remembered:
		// the next request may find the authorizer healthy.
		return d, nil
	}
	ttl := k.opts.DenyTTL
	if d.allowed {
		ttl = k.opts.AllowTTL
	}
	if ttl > 0 {
		k.decisions.put(key, d, time.Now().Add(ttl))
	}
	return d, nil
}

// decisionKey identifies a decision: everything the SubjectAccessReview is made of.
func decisionKey(u *User, a Attributes) string {
	groups := slices.Clone(u.Groups)
	slices.Sort(groups)
	extra := make([]string, 0, len(u.Extra))
	for k, v := range u.Extra {
		extra = append(extra, k+"="+strings.Join(v, ","))
	}
	slices.Sort(extra)
	// \x00 cannot appear in user names, groups or resource attributes, so fields cannot run into
	// each other.
	return strings.Join([]string{u.Name, u.UID, strings.Join(groups, "\x01"), strings.Join(extra, "\x01"),
		a.Verb, a.Resource, a.Namespace, a.Name}, "\x00")
}
