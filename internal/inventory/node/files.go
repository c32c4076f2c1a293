package node

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/inventory"
)

// MaxNodeFiles caps how many files a node audit records the mode of (a PKI directory holds a
// few dozen).
const MaxNodeFiles = 4096

// The places kubeadm and the distributions put the files CIS sections 1.1 and 4.1 cover.
var (
	controlPlaneKubeconfigs = []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf",
		"/etc/kubernetes/scheduler.conf", "/etc/kubernetes/controller-manager.conf"}
	kubeletServiceFiles = []string{"/etc/systemd/system/kubelet.service", "/usr/lib/systemd/system/kubelet.service",
		"/lib/systemd/system/kubelet.service"}
	kubeletServiceDropIns    = "/etc/systemd/system/kubelet.service.d"
	defaultKubeletKubeconfig = "/etc/kubernetes/kubelet.conf"
	pkiDir                   = "/etc/kubernetes/pki"
	defaultEtcdDataDir       = "/var/lib/etcd"
	cniDir                   = "/etc/cni/net.d"
)

// nodeFiles records the mode and owner of the node's sensitive files: static pod manifests,
// kubeconfigs, the PKI, etcd's data directory, CNI configuration, and the kubelet's service
// file, kubeconfig, client CA and configuration. Files that do not exist are not recorded.
type nodeFiles struct {
	opts   Options
	snap   *inventory.Snapshot
	seen   map[string]bool
	owners map[uint32]string
}

func readNodeFiles(snap *inventory.Snapshot, opts Options) {
	n := &nodeFiles{opts: opts, snap: snap, seen: map[string]bool{}, owners: passwd(opts.hostPath("/etc/passwd"))}
	if opts.ManifestsDir != "-" {
		entries, _ := os.ReadDir(opts.ManifestsDir)
		for _, e := range entries {
			if e.Type().IsRegular() && slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(e.Name())) {
				n.addLocal(filepath.Join(opts.ManifestsDir, e.Name()), inventory.NodeFileManifest)
			}
		}
	}
	for _, p := range controlPlaneKubeconfigs {
		n.add(p, inventory.NodeFileKubeconfig)
	}
	kubeletKubeconfig := defaultKubeletKubeconfig
	etcdData := ""
	for _, inst := range controlplane.Instances(snap) {
		switch inst.Component {
		case controlplane.ControllerManager, controlplane.Scheduler:
			if inst.Flags != nil && inst.Flags.Value("kubeconfig") != "" {
				n.addInstance(inst, inst.Flags.Value("kubeconfig"), inventory.NodeFileKubeconfig)
			}
		case controlplane.Etcd:
			if inst.Flags != nil && inst.Flags.Given("data-dir") {
				etcdData = inst.HostPath(inst.Flags.Value("data-dir"))
			}
		case controlplane.Kubelet:
			if inst.Flags != nil && inst.Flags.Value("kubeconfig") != "" {
				kubeletKubeconfig = inst.Flags.Value("kubeconfig")
			}
			if inst.Kubelet != nil {
				if ca := inst.Kubelet.Get("authentication.x509.clientCAFile").Value; ca != "" {
					n.add(ca, inventory.NodeFileKubeletClientCA)
				}
			}
		}
	}
	for _, c := range snap.Components {
		if c.Name == controlplane.Kubelet && c.ConfigSource == "file" && c.Origin.File != "" {
			n.add(c.Origin.File, inventory.NodeFileKubeletConfig)
		}
	}
	n.add(kubeletKubeconfig, inventory.NodeFileKubeletKubeconfig)
	if etcdData == "" {
		etcdData = defaultEtcdDataDir
	}
	n.add(etcdData, inventory.NodeFileEtcdData)
	for _, p := range kubeletServiceFiles {
		n.add(p, inventory.NodeFileKubeletService)
	}
	n.addDir(kubeletServiceDropIns, inventory.NodeFileKubeletService)
	n.addDir(cniDir, inventory.NodeFileCNI)
	n.addPKI()
}

// add records a file named by its path on the node.
func (n *nodeFiles) add(p, role string) {
	if p == "" {
		return
	}
	n.record(n.opts.hostPath(p), filepath.Clean(p), role)
}

// addInstance records a file a component names, through a static pod's mounts.
func (n *nodeFiles) addInstance(inst *controlplane.Instance, p, role string) {
	if hp := inst.HostPath(p); hp != "" {
		n.add(hp, role)
	}
}

// addLocal records a file named by its path here (the manifests directory as given).
func (n *nodeFiles) addLocal(local, role string) {
	p := local
	if r := n.opts.Root; r != "" && r != "/" {
		if rel, err := filepath.Rel(r, local); err == nil && !strings.HasPrefix(rel, "..") {
			p = "/" + rel
		}
	}
	n.record(local, p, role)
}

// addDir records the regular files directly in a directory.
func (n *nodeFiles) addDir(dir, role string) {
	entries, _ := os.ReadDir(n.opts.hostPath(dir))
	for _, e := range entries {
		if e.Type().IsRegular() {
			n.add(filepath.Join(dir, e.Name()), role)
		}
	}
}

// addPKI records the PKI directory, its subdirectories, and every certificate and key in them.
func (n *nodeFiles) addPKI() {
	root := n.opts.hostPath(pkiDir)
	_ = filepath.WalkDir(root, func(local string, d os.DirEntry, err error) error {
		if err != nil || len(n.seen) >= MaxNodeFiles {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, local)
		p := filepath.Join(pkiDir, rel)
		switch {
		case d.IsDir():
			if strings.Count(rel, string(filepath.Separator)) >= 3 {
				return filepath.SkipDir
			}
			n.record(local, p, inventory.NodeFilePKIDir)
		case !d.Type().IsRegular():
		case strings.HasSuffix(d.Name(), ".key") || strings.HasSuffix(d.Name(), "-key.pem"):
			n.record(local, p, inventory.NodeFilePKIKey)
		case strings.HasSuffix(d.Name(), ".crt") || strings.HasSuffix(d.Name(), ".pem"):
			n.record(local, p, inventory.NodeFilePKICert)
		}
		return nil
	})
}

func (n *nodeFiles) record(local, p, role string) {
	if n.seen[p] || len(n.seen) >= MaxNodeFiles {
		return
	}
	info, err := os.Stat(local)
	if err != nil {
		return
	}
	n.seen[p] = true
	f := &inventory.NodeFile{Node: n.opts.NodeName, Path: p, Role: role, Dir: info.IsDir(), Mode: info.Mode().Perm()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = st.Uid, st.Gid
		f.Owner = n.owners[st.Uid]
	}
	n.snap.NodeFiles = append(n.snap.NodeFiles, f)
}

// passwd reads user names by uid from a passwd file, capped in size; empty when unreadable.
func passwd(path string) map[uint32]string {
	out := map[uint32]string{}
	data, err := readCapped(path, MaxConfigBytes)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 {
			continue
		}
		if uid, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
			out[uint32(uid)] = fields[0]
		}
	}
	return out
}
