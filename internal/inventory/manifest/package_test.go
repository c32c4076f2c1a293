package manifest

import (
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"os"
	"path/filepath"
)

// packageChart writes a chart directory as a .tgz, as `helm package` does.
func packageChart(dir, out string) error {
	ch, err := loader.Load(dir)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pkg")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	name, err := chartutil.Save(ch, tmp)
	if err != nil {
		return err
	}
	return os.Rename(name, filepath.Clean(out))
}
