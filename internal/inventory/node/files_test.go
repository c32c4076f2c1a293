package node

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/infra"
)

// A node laid out as kubeadm lays it out, in a temporary root, with real modes and owners: the
// audit names every file that is too open or not root's, with the chmod or chown that fixes it,
// and nothing for files that are right.
func TestNodeFilePermissionsAndOwnership(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to other users needs root")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	manifests := filepath.Join(root, "etc/kubernetes/manifests")
	type file struct {
		path     string
		mode     os.FileMode
		uid, gid int
		dir      bool
	}
	files := []file{
		{path: "etc/kubernetes/manifests/kube-apiserver.yaml", mode: 0o644},
		{path: "etc/kubernetes/manifests/etcd.yaml", mode: 0o600},
		{path: "etc/kubernetes/admin.conf", mode: 0o640},
		{path: "etc/kubernetes/scheduler.conf", mode: 0o600, uid: 1000, gid: 1000},
		{path: "etc/kubernetes/controller-manager.conf", mode: 0o600},
		{path: "etc/kubernetes/kubelet.conf", mode: 0o666},
		{path: "etc/kubernetes/pki/ca.crt", mode: 0o664},
		{path: "etc/kubernetes/pki/front-proxy-ca.crt", mode: 0o644},
		{path: "etc/kubernetes/pki/ca.key", mode: 0o600},
		{path: "etc/kubernetes/pki/apiserver.key", mode: 0o604},
		{path: "etc/kubernetes/pki/etcd/server.crt", mode: 0o600, uid: 1000},
		{path: "var/lib/etcd", mode: 0o755, dir: true},
		{path: "var/lib/kubelet/config.yaml", mode: 0o644},
		{path: "etc/cni/net.d/10-calico.conflist", mode: 0o600},
		{path: "etc/systemd/system/kubelet.service.d/10-kubeadm.conf", mode: 0o644},
		{path: "etc/passwd", mode: 0o644},
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if f.dir {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else {
			data := "x\n"
			switch {
			case strings.HasSuffix(f.path, "config.yaml"):
				data = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			case strings.HasSuffix(f.path, ".yaml"):
				data = "apiVersion: v1\nkind: Pod\nmetadata: {name: " + strings.TrimSuffix(filepath.Base(f.path), ".yaml") + ", namespace: kube-system}\nspec:\n  containers: [{name: c, image: registry.k8s.io/pause:3.10}]\n"
			case strings.HasSuffix(f.path, "passwd"):
				data = "root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000::/home/dev:/bin/sh\n"
			}
			write(t, p, data)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, f.uid, f.gid); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := Load(context.Background(), Options{Proc: "-", ManifestsDir: manifests, Root: root, KubeletConfig: "/var/lib/kubelet/config.yaml", NodeName: "cp1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range infra.Run(&infra.Context{Snapshot: snap}) {
		if f.Check == "node-file-permissions" || f.Check == "node-file-ownership" {
			if f.Location.Node != "cp1" || f.Location.File == "" {
				t.Errorf("%s: location %+v", f.Check, f.Location)
			}
			got = append(got, f.Check+" "+f.Message)
		}
	}
	slices.Sort(got)
	want := []string{
		"node-file-ownership PKI certificate /etc/kubernetes/pki/etcd/server.crt is owned by dev (uid 1000, gid 0), wanted root:root: chown root:root /etc/kubernetes/pki/etcd/server.crt",
		"node-file-ownership control-plane kubeconfig /etc/kubernetes/scheduler.conf is owned by dev (uid 1000, gid 1000), wanted root:root: chown root:root /etc/kubernetes/scheduler.conf",
		"node-file-permissions PKI certificate /etc/kubernetes/pki/ca.crt is mode 0664, wanted 0644 or stricter: chmod 644 /etc/kubernetes/pki/ca.crt",
		"node-file-permissions PKI key /etc/kubernetes/pki/apiserver.key is mode 0604, wanted 0600 or stricter: chmod 600 /etc/kubernetes/pki/apiserver.key",
		"node-file-permissions control-plane kubeconfig /etc/kubernetes/admin.conf is mode 0640, wanted 0600 or stricter: chmod 600 /etc/kubernetes/admin.conf",
		"node-file-permissions etcd data directory /var/lib/etcd is mode 0755, wanted 0700 or stricter: chmod 700 /var/lib/etcd",
		"node-file-permissions kubelet configuration file /var/lib/kubelet/config.yaml is mode 0644, wanted 0600 or stricter: chmod 600 /var/lib/kubelet/config.yaml",
		"node-file-permissions kubelet kubeconfig /etc/kubernetes/kubelet.conf is mode 0666, wanted 0600 or stricter: chmod 600 /etc/kubernetes/kubelet.conf",
		"node-file-permissions kubelet service file /etc/systemd/system/kubelet.service.d/10-kubeadm.conf is mode 0644, wanted 0600 or stricter: chmod 600 /etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
		"node-file-permissions static pod manifest /etc/kubernetes/manifests/kube-apiserver.yaml is mode 0644, wanted 0600 or stricter: chmod 600 /etc/kubernetes/manifests/kube-apiserver.yaml",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Every file that exists was looked at, right or wrong.
	if len(snap.NodeFiles) < 13 {
		t.Errorf("%d node files recorded: %+v", len(snap.NodeFiles), snap.NodeFiles)
	}
}
