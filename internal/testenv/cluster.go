package testenv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The users the apiserver knows from its --token-auth-file. Their tokens are in
// Cluster.Tokens.
const (
	// AdminUser is in group system:masters: RBAC lets it do anything.
	AdminUser = "admin"
	// AliceUser is in no group beyond system:authenticated: RBAC grants her almost nothing.
	AliceUser = "alice"
)

// ContextName names the cluster and the context in the kubeconfig files Start writes.
const ContextName = "redoubt-test"

// certAdminUser is the common name of the admin client certificate.
const certAdminUser = "redoubt-admin"

// Options change how Start runs the control plane. The zero value is a working cluster with
// anonymous access off, TLS, RBAC and a controller manager.
type Options struct {
	// Binaries are the executables to run; zero means Binaries(ctx), which may build them.
	Binaries Paths
	// APIServerFlags override kube-apiserver's flags. A key is a flag name without dashes
	// ("anonymous-auth"); a value replaces the default, and an empty value removes the flag.
	APIServerFlags map[string]string
	// ControllerManagerFlags override kube-controller-manager's flags the same way.
	ControllerManagerFlags map[string]string
	// NoControllerManager skips kube-controller-manager. Start is then about 6 s faster, but no
	// `default` ServiceAccount appears, so Pods cannot be created and Deployments make no
	// ReplicaSets.
	NoControllerManager bool
	// TempDir is where the cluster's directory is created; empty means os.TempDir().
	TempDir string
	// ReadyTimeout bounds each wait for a component to become ready; zero means 2 minutes.
	ReadyTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; zero means 10 s.
	StopTimeout time.Duration
}

// Cluster is a running etcd, kube-apiserver and, unless disabled, kube-controller-manager on
// loopback. Its fields are read-only. Stop it with Stop.
type Cluster struct {
	// Server is the apiserver's URL, https://127.0.0.1:PORT.
	Server string
	// CAPEM is the PEM certificate of the CA that signed every certificate of the cluster.
	CAPEM []byte
	// Admin authenticates with a client certificate in group system:masters.
	Admin *rest.Config
	// KubeconfigPath is a kubeconfig file for Admin, with cluster and context ContextName.
	KubeconfigPath string
	// Tokens maps AdminUser and AliceUser to their bearer tokens. It is empty when
	// APIServerFlags removed the token-auth-file flag.
	Tokens map[string]string
	// APIServerFlags are the flags kube-apiserver runs with, after Options were applied.
	APIServerFlags map[string]string
	// ControllerManagerFlags are the flags of kube-controller-manager; nil if it was not started.
	ControllerManagerFlags map[string]string
	// EtcdURL is the client URL of etcd.
	EtcdURL string
	// Dir holds the certificates, kubeconfigs, etcd data and the logs <component>.log. Stop
	// removes it.
	Dir string

	stopTimeout time.Duration
	kcmCert     keyPair    // the controller manager's client certificate
	procs       []*process // in start order
	stopOnce    sync.Once
	stopErr     error
}

// Start runs a control plane and returns once it is ready: kube-apiserver answers /readyz and,
// with a controller manager, the `default` ServiceAccount exists. ctx bounds the start only;
// the cluster runs until Stop. If Start fails, it has already stopped whatever it started,
// and the error quotes the end of the failing component's log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	bins := opts.Binaries
	if bins.IsZero() {
		if bins, err = Binaries(ctx); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(opts.TempDir, "redoubt-testenv-")
	if err != nil {
		return nil, fmt.Errorf("testenv: creating the cluster directory: %w", err)
	}
	c := &Cluster{Dir: dir, stopTimeout: opts.StopTimeout}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()

	files, err := c.writeCredentials()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if err := c.startEtcd(ctx, bins.Etcd, ports[0], ports[1], opts.ReadyTimeout); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, bins.KubeAPIServer, ports[2], files, opts); err != nil {
		return nil, err
	}
	if opts.NoControllerManager {
		return c, nil
	}
	if err := c.startControllerManager(ctx, bins.KubeControllerManager, files, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// credentialFiles are the paths of the files writeCredentials wrote.
type credentialFiles struct {
	caCert, caKey               string
	servingCert, servingKey     string
	saPublic, saPrivate         string
	tokens                      string
	controllerManagerKubeconfig string
}

// writeCredentials creates the cluster's certificates, keys and tokens, fills in CAPEM, Admin,
// Tokens and KubeconfigPath, and writes the files the components read.
func (c *Cluster) writeCredentials() (credentialFiles, error) {
	now := time.Now()
	ca, err := newAuthority(now)
	if err != nil {
		return credentialFiles{}, err
	}
	serving, err := ca.serving(now)
	if err != nil {
		return credentialFiles{}, err
	}
	admin, err := ca.client(now, certAdminUser, "system:masters")
	if err != nil {
		return credentialFiles{}, err
	}
	kcm, err := ca.client(now, "system:kube-controller-manager")
	if err != nil {
		return credentialFiles{}, err
	}
	sa, err := serviceAccountKeys()
	if err != nil {
		return credentialFiles{}, err
	}
	c.CAPEM = ca.Cert
	c.Tokens = map[string]string{AdminUser: randomToken(), AliceUser: randomToken()}
	// The format is token,user,uid,"group,...".
	tokens := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,%s,%s-uid\n",
		c.Tokens[AdminUser], AdminUser, AdminUser, c.Tokens[AliceUser], AliceUser, AliceUser)

	f := credentialFiles{
		caCert:                      filepath.Join(c.Dir, "ca.crt"),
		caKey:                       filepath.Join(c.Dir, "ca.key"),
		servingCert:                 filepath.Join(c.Dir, "apiserver.crt"),
		servingKey:                  filepath.Join(c.Dir, "apiserver.key"),
		saPublic:                    filepath.Join(c.Dir, "service-account.pub"),
		saPrivate:                   filepath.Join(c.Dir, "service-account.key"),
		tokens:                      filepath.Join(c.Dir, "tokens.csv"),
		controllerManagerKubeconfig: filepath.Join(c.Dir, "kube-controller-manager.kubeconfig"),
	}
	for path, data := range map[string][]byte{
		f.caCert: ca.Cert, f.caKey: ca.Key,
		f.servingCert: serving.Cert, f.servingKey: serving.Key,
		f.saPublic: sa.Cert, f.saPrivate: sa.Key,
		f.tokens: []byte(tokens),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return credentialFiles{}, fmt.Errorf("testenv: writing %s: %w", path, err)
		}
	}
	// The server URL is not known yet; the kubeconfigs are written once it is.
	c.Admin = &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca.Cert, CertData: admin.Cert, KeyData: admin.Key}}
	c.KubeconfigPath = filepath.Join(c.Dir, "kubeconfig")
	c.kcmCert = kcm
	return f, nil
}

// startEtcd runs etcd with a fresh data directory and waits until it is healthy.
func (c *Cluster) startEtcd(ctx context.Context, bin string, clientPort, peerPort int, timeout time.Duration) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := c.start("etcd", bin, map[string]string{
		"name":                        "testenv",
		"data-dir":                    filepath.Join(c.Dir, "etcd-data"),
		"listen-client-urls":          client,
		"advertise-client-urls":       client,
		"listen-peer-urls":            peer,
		"initial-advertise-peer-urls": peer,
		"initial-cluster":             "testenv=" + peer,
		"initial-cluster-state":       "new",
		"unsafe-no-fsync":             "true",
		"log-level":                   "warn",
	})
	if err != nil {
		return err
	}
	c.EtcdURL = client
	httpClient := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return waitReady(ctx, p, timeout, "healthy", func(ctx context.Context) error {
		return expectBody(ctx, httpClient, client+"/health", `"health":"true"`)
	})
}

// startAPIServer runs kube-apiserver against etcd and waits until /readyz says ok.
func (c *Cluster) startAPIServer(ctx context.Context, bin string, port int, f credentialFiles, opts Options) error {
	c.APIServerFlags = mergeFlags(map[string]string{
		"etcd-servers":                     c.EtcdURL,
		"bind-address":                     "127.0.0.1",
		"advertise-address":                "127.0.0.1",
		"secure-port":                      strconv.Itoa(port),
		"tls-cert-file":                    f.servingCert,
		"tls-private-key-file":             f.servingKey,
		"client-ca-file":                   f.caCert,
		"token-auth-file":                  f.tokens,
		"anonymous-auth":                   "false",
		"authorization-mode":               "Node,RBAC",
		"service-account-issuer":           "https://kubernetes.default.svc.cluster.local",
		"service-account-key-file":         f.saPublic,
		"service-account-signing-key-file": f.saPrivate,
		"service-cluster-ip-range":         serviceCIDR,
		"allow-privileged":                 "true",
		// Without it the apiserver exits, refusing to publish a loopback address as the
		// endpoint of the `kubernetes` Service.
		"endpoint-reconciler-type": "none",
	}, opts.APIServerFlags)
	if c.APIServerFlags["token-auth-file"] != f.tokens {
		c.Tokens = map[string]string{}
	}
	if v := c.APIServerFlags["secure-port"]; v != strconv.Itoa(port) {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("testenv: kube-apiserver flag secure-port=%q is not a port number", v)
		}
		port = p
	}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
	c.Admin.Host = c.Server
	c.Admin.QPS, c.Admin.Burst = 100, 200 // tests create objects in bursts
	if err := c.writeKubeconfigs(); err != nil {
		return err
	}

	p, err := c.start("kube-apiserver", bin, c.APIServerFlags)
	if err != nil {
		return err
	}
	httpClient, err := c.probeClient()
	if err != nil {
		return err
	}
	defer httpClient.CloseIdleConnections()
	return waitReady(ctx, p, opts.ReadyTimeout, "ready", func(ctx context.Context) error {
		return expectBody(ctx, httpClient, c.Server+"/readyz", "ok")
	})
}

// startControllerManager runs kube-controller-manager and waits until its service-account
// controller has created the `default` ServiceAccount, the first thing Pods need.
func (c *Cluster) startControllerManager(ctx context.Context, bin string, f credentialFiles, opts Options) error {
	kubeconfig := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{ContextName: {Server: c.Server, CertificateAuthorityData: c.CAPEM}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"kube-controller-manager": {ClientCertificateData: c.kcmCert.Cert, ClientKeyData: c.kcmCert.Key}},
		Contexts:       map[string]*clientcmdapi.Context{ContextName: {Cluster: ContextName, AuthInfo: "kube-controller-manager"}},
		CurrentContext: ContextName,
	}
	if err := clientcmd.WriteToFile(kubeconfig, f.controllerManagerKubeconfig); err != nil {
		return fmt.Errorf("testenv: writing %s: %w", f.controllerManagerKubeconfig, err)
	}
	c.ControllerManagerFlags = mergeFlags(map[string]string{
		"kubeconfig":                       f.controllerManagerKubeconfig,
		"service-account-private-key-file": f.saPrivate,
		"root-ca-file":                     f.caCert,
		"use-service-account-credentials":  "true",
		"leader-elect":                     "false",
		"cluster-signing-cert-file":        f.caCert,
		"cluster-signing-key-file":         f.caKey,
		"controllers":                      "*",
		// Its own HTTPS endpoint (default port 10257) is not needed, and a fixed port would
		// collide between clusters of tests that run in parallel.
		"secure-port": "0",
	}, opts.ControllerManagerFlags)

	p, err := c.start("kube-controller-manager", bin, c.ControllerManagerFlags)
	if err != nil {
		return err
	}
	cfg := rest.CopyConfig(c.Admin)
	cfg.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("testenv: creating a client for %s: %w", c.Server, err)
	}
	return waitReady(ctx, p, opts.ReadyTimeout, "ready (no default ServiceAccount in namespace default)", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// start runs one component and records it for Stop.
func (c *Cluster) start(name, bin string, flags map[string]string) (*process, error) {
	p, err := startProcess(c.Dir, name, bin, flagArgs(flags)...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// Stop stops every process the cluster started, newest first (SIGTERM, then SIGKILL after
// Options.StopTimeout), and removes Dir. It is safe to call more than once and from
// several goroutines; later calls return the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		for i := len(c.procs) - 1; i >= 0; i-- {
			errs = append(errs, c.procs[i].stop(c.stopTimeout))
		}
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("testenv: removing the cluster directory: %w", err))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// LogTail returns the last lines of a component's log ("etcd", "kube-apiserver",
// "kube-controller-manager"), for a test that wants to show why the cluster misbehaved.
func (c *Cluster) LogTail(component string) string {
	for _, p := range c.procs {
		if p.name == component {
			return p.tail()
		}
	}
	return fmt.Sprintf("\t(no component %q was started)", component)
}

// Kubeconfig returns the path of a kubeconfig file that authenticates as a token user
// (AdminUser or AliceUser), with cluster and context ContextName.
func (c *Cluster) Kubeconfig(user string) (string, error) {
	if _, err := c.token(user); err != nil {
		return "", err
	}
	return c.tokenKubeconfigPath(user), nil
}

// ConfigFor returns a client configuration that authenticates as a token user (AdminUser or
// AliceUser).
func (c *Cluster) ConfigFor(user string) (*rest.Config, error) {
	token, err := c.token(user)
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(c.Admin)
	cfg.BearerToken = token
	return cfg, nil
}

func (c *Cluster) token(user string) (string, error) {
	token, ok := c.Tokens[user]
	if !ok {
		if len(c.Tokens) == 0 {
			return "", fmt.Errorf("testenv: no token users: the apiserver runs without the token-auth-file flag")
		}
		return "", fmt.Errorf("testenv: no token user %q (have %s and %s)", user, AdminUser, AliceUser)
	}
	return token, nil
}

func (c *Cluster) tokenKubeconfigPath(user string) string {
	return filepath.Join(c.Dir, "kubeconfig-"+user)
}

// writeKubeconfigs writes the admin certificate kubeconfig and one per token user.
func (c *Cluster) writeKubeconfigs() error {
	write := func(path, user string, auth *clientcmdapi.AuthInfo) error {
		cfg := clientcmdapi.Config{
			Clusters:       map[string]*clientcmdapi.Cluster{ContextName: {Server: c.Server, CertificateAuthorityData: c.CAPEM}},
			AuthInfos:      map[string]*clientcmdapi.AuthInfo{user: auth},
			Contexts:       map[string]*clientcmdapi.Context{ContextName: {Cluster: ContextName, AuthInfo: user}},
			CurrentContext: ContextName,
		}
		if err := clientcmd.WriteToFile(cfg, path); err != nil {
			return fmt.Errorf("testenv: writing kubeconfig %s: %w", path, err)
		}
		return nil
	}
	if err := write(c.KubeconfigPath, "admin", &clientcmdapi.AuthInfo{
		ClientCertificateData: c.Admin.CertData, ClientKeyData: c.Admin.KeyData,
	}); err != nil {
		return err
	}
	for user, token := range c.Tokens {
		if err := write(c.tokenKubeconfigPath(user), user, &clientcmdapi.AuthInfo{Token: token}); err != nil {
			return err
		}
	}
	return nil
}

// probeClient returns an HTTP client that trusts the cluster CA and presents the admin
// certificate, so readiness probes work whatever anonymous-auth says.
func (c *Cluster) probeClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAPEM) {
		return nil, errors.New("testenv: the generated CA certificate does not parse")
	}
	cert, err := tls.X509KeyPair(c.Admin.CertData, c.Admin.KeyData)
	if err != nil {
		return nil, fmt.Errorf("testenv: loading the admin client certificate: %w", err)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}, nil
}

// waitReady calls probe until it succeeds, the process exits, timeout passes or ctx ends.
func waitReady(parent context.Context, p *process, timeout time.Duration, state string, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		probeCtx, cancelProbe := context.WithTimeout(ctx, 5*time.Second)
		last := probe(probeCtx)
		cancelProbe()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.exitError("exited before it was " + strings.Fields(state)[0])
		case <-ctx.Done():
			if parent.Err() == nil { // our timeout, not the caller's
				return fmt.Errorf("testenv: %s not %s after %s (last check: %v); last lines of %s:\n%s",
					p.name, state, timeout, last, p.logPath, p.tail())
			}
			return fmt.Errorf("testenv: waiting for %s to be %s: %w", p.name, strings.Fields(state)[0], parent.Err())
		case <-tick.C:
		}
	}
}

// expectBody GETs url and wants status 200 and a body that contains want.
func expectBody(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// randomToken returns 32 random hex characters.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails, says crypto/rand
	return hex.EncodeToString(b)
}
