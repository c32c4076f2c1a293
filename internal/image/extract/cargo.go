package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
)

// CargoAuditable reads the dependency list that cargo-auditable embeds in Rust binaries: a
// zlib-compressed JSON document in the ELF section .dep-v0. Only crates from crates.io are
// reported: local and git crates are the application itself, with no advisories to match.
type CargoAuditable struct{}

// Name implements Extractor.
func (CargoAuditable) Name() string { return "cargo-auditable" }

// Required implements Extractor.
func (CargoAuditable) Required(_ string, mode fs.FileMode, size int64) bool {
	return isExecutable(mode) && size > 1024 && size <= maxBinary
}

// WantsMagic implements MagicFilter.
func (CargoAuditable) WantsMagic(head []byte) bool { return bytes.HasPrefix(head, elfMagic) }

// maxAuditData caps the decompressed dependency list.
const maxAuditData = 16 << 20

// Extract implements Extractor.
func (CargoAuditable) Extract(_ context.Context, f File) (Result, error) {
	ef, err := elf.NewFile(f.R)
	if err != nil {
		return Result{}, nil
	}
	defer ef.Close()
	sec := ef.Section(".dep-v0")
	if sec == nil {
		return Result{}, nil
	}
	if sec.Size > maxAuditData {
		return Result{}, fmt.Errorf("section .dep-v0 is %d bytes, more than %d", sec.Size, maxAuditData)
	}
	pkgs, err := ParseCargoAudit(sec.Open())
	for i := range pkgs {
		pkgs[i].Path = f.Path
	}
	return Result{Packages: pkgs}, err
}

// ParseCargoAudit decodes a .dep-v0 section's contents.
func ParseCargoAudit(r io.Reader) ([]Package, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("section .dep-v0: %w", err)
	}
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, maxAuditData+1))
	if err != nil {
		return nil, fmt.Errorf("section .dep-v0: %w", err)
	}
	if len(data) > maxAuditData {
		return nil, fmt.Errorf("section .dep-v0 decompresses to more than %d bytes", maxAuditData)
	}
	var doc struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Source  string `json:"source"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("section .dep-v0: %w", err)
	}
	var out []Package
	for _, p := range doc.Packages {
		if p.Source != "crates.io" || p.Name == "" || p.Version == "" {
			continue
		}
		out = append(out, Package{Name: p.Name, Version: p.Version, Type: TypeCargo})
	}
	return out, nil
}
