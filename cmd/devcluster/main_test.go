package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"redoubt.dev/redoubt/internal/testenv"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		stderr  string
	}{
		{"help", []string{"--help"}, flag.ErrHelp, "keeps running until Ctrl-C"},
		{"unknown flag", []string{"--bogus"}, errUsage, "flag provided but not defined: -bogus"},
		{"argument", []string{"extra"}, errUsage, `unexpected arguments ["extra"]`},
		{"apiserver flag without value", []string{"-apiserver-flag", "anonymous-auth"}, errUsage, "want name=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), func() {}, tt.args, &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

func TestFlagList(t *testing.T) {
	l := flagList{}
	for _, s := range []string{"anonymous-auth=true", "--profiling=false", "token-auth-file=", "x=a=b"} {
		if err := l.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	want := flagList{"anonymous-auth": "true", "profiling": "false", "token-auth-file": "", "x": "a=b"}
	if l.String() != want.String() {
		t.Errorf("flags = %v, want %v", l, want)
	}
	if err := l.Set("=x"); err == nil {
		t.Error(`Set("=x"): no error`)
	}
}

// TestRunUntilCanceled runs the command as a developer would, uses the kubeconfig it prints,
// and checks that canceling (Ctrl-C) stops the cluster and deletes its files.
func TestRunUntilCanceled(t *testing.T) {
	if os.Getenv(testenv.SkipEnv) == "1" || testing.Short() {
		t.Skip("skipping a test that runs a real etcd and kube-apiserver")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	result := make(chan error, 1)
	go func() {
		result <- run(ctx, func() {}, []string{"-no-controller-manager"}, &stdout, &stderr)
	}()

	kubeconfig := regexp.MustCompile(`--kubeconfig (\S+)`)
	var path string
	for deadline := time.Now().Add(3 * time.Minute); path == ""; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-result:
			t.Fatalf("run ended before the cluster was up: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no kubeconfig printed after 3 minutes; stdout:\n%s", stdout.String())
		}
		if m := kubeconfig.FindStringSubmatch(stdout.String()); m != nil && strings.Contains(stdout.String(), "Ctrl-C") {
			path = m[1]
		}
	}
	if !strings.Contains(stdout.String(), "redoubt scan --kubeconfig "+path) {
		t.Errorf("stdout shows no redoubt scan example:\n%s", stdout.String())
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version through %s: %v", path, err)
	}
	if v.GitVersion != testenv.KubernetesVersion {
		t.Errorf("server version %s, want %s", v.GitVersion, testenv.KubernetesVersion)
	}

	cancel()
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return within a minute of the cancel")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("kubeconfig %s still exists after the stop (stat: %v)", path, err)
	}
}

// syncBuffer is a bytes.Buffer that run's goroutine and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
