// Package probe observes a live cluster beyond its objects, for the infrastructure checks: what
// the API server answers a client without credentials (GET /api, /version and /healthz), and
// each kubelet's configuration in effect, read from its /configz endpoint through the API
// server's node proxy. Both are read-only GETs.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/inventory"
)

// AnonymousPaths are the paths the anonymous probe asks for.
var AnonymousPaths = []string{"/api", "/version", "/healthz"}

// Timeout bounds each request.
const Timeout = 10 * time.Second

// MaxConfigzBytes caps a configz response.
const MaxConfigzBytes = 1 << 20

// Observe adds the anonymous probe and the kubelets' configz to a snapshot read from the
// cluster cfg points at. Failures are recorded in what was observed, never returned: a probe
// that cannot run makes checks not assessable, it does not stop a scan.
func Observe(ctx context.Context, cfg *rest.Config, snap *inventory.Snapshot) {
	snap.AnonymousProbe = Anonymous(ctx, cfg)
	snap.Components = append(snap.Components, Configz(ctx, cfg, snap.Nodes)...)
}

// Anonymous sends GET requests without any credentials to the API server, trusting the same
// certificate authority as cfg.
func Anonymous(ctx context.Context, cfg *rest.Config) *inventory.AnonymousProbe {
	p := &inventory.AnonymousProbe{Server: cfg.Host}
	anon := rest.AnonymousClientConfig(cfg)
	anon.Timeout = Timeout
	client, err := rest.HTTPClientFor(anon)
	if err != nil {
		for _, path := range AnonymousPaths {
			p.Results = append(p.Results, inventory.ProbeResult{Path: path, Error: err.Error()})
		}
		return p
	}
	defer client.CloseIdleConnections()
	base := anon.Host
	if u, _, err := rest.DefaultServerUrlFor(anon); err == nil {
		base = u.String()
	}
	for _, path := range AnonymousPaths {
		r := inventory.ProbeResult{Path: path}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err == nil {
			var resp *http.Response
			resp, err = client.Do(req)
			if err == nil {
				r.Status = resp.StatusCode
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
			}
		}
		if err != nil {
			r.Error = err.Error()
		}
		p.Results = append(p.Results, r)
	}
	return p
}

// Configz reads every node's kubelet configuration through the API server's node proxy
// (GET /api/v1/nodes/NAME/proxy/configz, which needs nodes/proxy permission), a few nodes at
// a time. A node whose configz cannot be read yields a Component with Error set.
func Configz(ctx context.Context, cfg *rest.Config, nodes []*inventory.Node) []*inventory.Component {
	if len(nodes) == 0 {
		return nil
	}
	cs, err := kubernetes.NewForConfig(cfg)
	out := make([]*inventory.Component, len(nodes))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, n := range nodes {
		c := &inventory.Component{Name: controlplane.Kubelet, Node: n.Name, ConfigSource: "configz",
			Origin: inventory.Origin{Cluster: n.Origin.Cluster, UID: n.Origin.UID}}
		out[i] = c
		if err != nil {
			c.Error = fmt.Sprintf("configz of node %s: %v", n.Name, err)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, Timeout)
			defer cancel()
			data, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", c.Node, "proxy", "configz").DoRaw(rctx)
			switch {
			case err != nil:
				c.Error = fmt.Sprintf("configz of node %s: %s", c.Node, describe(err))
			case len(data) > MaxConfigzBytes:
				c.Error = fmt.Sprintf("configz of node %s: larger than %d bytes", c.Node, MaxConfigzBytes)
			default:
				c.Config = data
			}
		}()
	}
	wg.Wait()
	return out
}

func describe(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		switch st.Code {
		case http.StatusForbidden:
			return "forbidden: reading a kubelet's configuration needs get on nodes/proxy (" + st.Message + ")"
		}
		return fmt.Sprintf("%d %s", st.Code, st.Message)
	}
	return err.Error()
}
