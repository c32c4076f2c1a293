package infra

import (
	"io/fs"

	"redoubt.dev/redoubt/internal/inventory"
)

// nodeFilePolicy is what the CIS benchmark asks of one kind of node file.
type nodeFilePolicy struct {
	// maxMode is the loosest mode allowed: no bit outside it may be set.
	maxMode fs.FileMode
	// owners are the user names that may own the file (uid 0 is root whatever /etc/passwd says).
	owners []string
	// modeRef and ownerRef are the benchmark items (CIS Kubernetes Benchmark v1.11).
	modeRef, ownerRef []string
}

// nodeFilePolicies are keyed by inventory.NodeFile role. The PKI directory is judged for its
// owner only; its files carry the mode items.
var nodeFilePolicies = map[string]nodeFilePolicy{
	inventory.NodeFileManifest:          {0o600, []string{"root"}, []string{"cis:1.1.1", "cis:1.1.3", "cis:1.1.5", "cis:1.1.7"}, []string{"cis:1.1.2", "cis:1.1.4", "cis:1.1.6", "cis:1.1.8"}},
	inventory.NodeFileCNI:               {0o600, []string{"root"}, []string{"cis:1.1.9"}, []string{"cis:1.1.10"}},
	inventory.NodeFileEtcdData:          {0o700, []string{"root", "etcd"}, []string{"cis:1.1.11"}, []string{"cis:1.1.12"}},
	inventory.NodeFileKubeconfig:        {0o600, []string{"root"}, []string{"cis:1.1.13", "cis:1.1.15", "cis:1.1.17"}, []string{"cis:1.1.14", "cis:1.1.16", "cis:1.1.18"}},
	inventory.NodeFilePKIDir:            {fs.ModePerm, []string{"root"}, nil, []string{"cis:1.1.19"}},
	inventory.NodeFilePKICert:           {0o644, []string{"root"}, []string{"cis:1.1.20"}, []string{"cis:1.1.19"}},
	inventory.NodeFilePKIKey:            {0o600, []string{"root"}, []string{"cis:1.1.21"}, []string{"cis:1.1.19"}},
	inventory.NodeFileKubeletService:    {0o600, []string{"root"}, []string{"cis:4.1.1"}, []string{"cis:4.1.2"}},
	inventory.NodeFileKubeletKubeconfig: {0o600, []string{"root"}, []string{"cis:4.1.5"}, []string{"cis:4.1.6"}},
	inventory.NodeFileKubeletClientCA:   {0o644, []string{"root"}, []string{"cis:4.1.7"}, []string{"cis:4.1.8"}},
	inventory.NodeFileKubeletConfig:     {0o600, []string{"root"}, []string{"cis:4.1.9"}, []string{"cis:4.1.10"}},
}
