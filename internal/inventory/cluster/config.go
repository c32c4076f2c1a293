// Package cluster reads a Snapshot from a live cluster through client-go, read-only. Every
// list is paginated, so a 10,000-pod cluster never needs one giant response, and Secrets and
// ConfigMaps are read as metadata only: their values never reach Redoubt.
package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Target says which cluster to read, with kubectl's flags.
type Target struct {
	// Kubeconfig is the kubeconfig file; empty means $KUBECONFIG, then ~/.kube/config, then the
	// in-cluster service account.
	Kubeconfig string
	// Context is the kubeconfig context; empty means the current context.
	Context string
	// Namespace limits the scan to one namespace; empty means every namespace.
	Namespace string
}

// Connection is a resolved target: the REST config and the names to show in messages.
type Connection struct {
	Config  *rest.Config
	Context string
	Cluster string
	Server  string
}

// Connect resolves the target's kubeconfig (or in-cluster configuration).
func Connect(t Target) (*Connection, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: t.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if t.Kubeconfig == "" && t.Context == "" && clientcmd.IsEmptyConfig(err) {
			if in, ierr := rest.InClusterConfig(); ierr == nil {
				return finish(&Connection{Config: in, Context: "in-cluster", Cluster: "in-cluster"}), nil
			}
			return nil, errors.New("no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config) and not running in a cluster; pass --kubeconfig FILE")
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ctxName := t.Context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	conn := &Connection{Config: cfg, Context: ctxName}
	if c, ok := raw.Contexts[ctxName]; ok {
		conn.Cluster = c.Cluster
	}
	if conn.Cluster == "" {
		conn.Cluster = ctxName
	}
	return finish(conn), nil
}

func finish(c *Connection) *Connection {
	c.Server = c.Config.Host
	// The defaults (5 requests per second) make paging through a large cluster slow.
	c.Config.QPS = 50
	c.Config.Burst = 100
	c.Config.UserAgent = "redoubt"
	return c
}

// describe turns an API error into one line naming the context, the server and the status.
func (c *Connection) describe(what string, err error) error {
	where := fmt.Sprintf("cluster context %q (%s)", c.Context, c.Server)
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		msg := strings.TrimSpace(st.Message)
		hint := ""
		switch st.Code {
		case 401:
			hint = ": the credentials in the kubeconfig were refused"
		case 403:
			hint = ": the user lacks permission (Redoubt needs get/list on the objects it reads)"
		}
		if msg != "" && hint == "" {
			hint = ": " + msg
		}
		return fmt.Errorf("%s: %s: HTTP %d %s%s", where, what, st.Code, st.Reason, hint)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		var oe *net.OpError
		if errors.As(ue.Err, &oe) {
			return fmt.Errorf("%s: %s: cannot connect: %v", where, what, oe.Err)
		}
		return fmt.Errorf("%s: %s: %v", where, what, ue.Err)
	}
	return fmt.Errorf("%s: %s: %v", where, what, err)
}
