package extract

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
)

// Java reads Java archives (jar, war, ear and the Jenkins plugin formats), including archives
// nested inside them (WEB-INF/lib, BOOT-INF/lib, shaded jars): every
// META-INF/maven/GROUP/ARTIFACT/pom.properties names one Maven artifact. An archive with no
// pom.properties is identified from META-INF/MANIFEST.MF (Implementation- or Bundle- headers)
// or, last, from its file name. Nesting depth and decompressed bytes are bounded: archives are
// a classic place for decompression bombs.
type Java struct{}

// Name implements Extractor.
func (Java) Name() string { return "java" }

const (
	maxArchive       = 1 << 30
	maxNestedArchive = 128 << 20
	maxArchiveDepth  = 4
	// maxInflated caps the bytes decompressed from one top-level archive and everything nested.
	maxInflated   = 1 << 30
	maxSmallEntry = 1 << 20
)

var javaExts = []string{".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar"}

func isJavaArchive(p string) bool {
	p = strings.ToLower(p)
	for _, e := range javaExts {
		if strings.HasSuffix(p, e) {
			return true
		}
	}
	return false
}

// Required implements Extractor.
func (Java) Required(path string, mode fs.FileMode, size int64) bool {
	return mode.IsRegular() && size > 0 && size <= maxArchive && isJavaArchive(path)
}

// WantsMagic implements MagicFilter: zip files only.
func (Java) WantsMagic(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) }

// Extract implements Extractor.
func (Java) Extract(ctx context.Context, f File) (Result, error) {
	budget := int64(maxInflated)
	pkgs, err := javaArchive(ctx, f.R, f.Size, f.Path, 0, &budget)
	return Result{Packages: pkgs}, err
}

func javaArchive(ctx context.Context, r io.ReaderAt, size int64, where string, depth int, budget *int64) ([]Package, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var out []Package
	var manifest map[string]string
	var firstErr error
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		name := zf.Name
		switch {
		case strings.HasPrefix(name, "META-INF/maven/") && strings.HasSuffix(name, "/pom.properties"):
			data, err := readZipEntry(zf, maxSmallEntry, budget)
			if err != nil {
				firstErr = keepFirst(firstErr, fmt.Errorf("%s!/%s: %w", where, name, err))
				continue
			}
			if p, ok := parsePomProperties(data); ok {
				p.Path = where
				out = append(out, p)
			}
		case strings.EqualFold(name, "META-INF/MANIFEST.MF"):
			data, err := readZipEntry(zf, maxSmallEntry, budget)
			if err == nil {
				manifest = parseManifest(data)
			}
		case isJavaArchive(name) && !zf.FileInfo().IsDir():
			if depth+1 >= maxArchiveDepth {
				firstErr = keepFirst(firstErr, fmt.Errorf("%s!/%s: archives nested more than %d deep are not read", where, name, maxArchiveDepth))
				continue
			}
			data, err := readZipEntry(zf, maxNestedArchive, budget)
			if err != nil {
				firstErr = keepFirst(firstErr, fmt.Errorf("%s!/%s: %w", where, name, err))
				continue
			}
			inner, err := javaArchive(ctx, bytes.NewReader(data), int64(len(data)), where+"!/"+name, depth+1, budget)
			out = append(out, inner...)
			if err != nil {
				firstErr = keepFirst(firstErr, err)
			}
		}
	}
	if !hasOwnPom(out, where) {
		if p, ok := fromManifest(manifest, where); ok {
			out = append(out, p)
		}
	}
	return out, firstErr
}

func keepFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func hasOwnPom(pkgs []Package, where string) bool {
	for _, p := range pkgs {
		if p.Path == where {
			return true
		}
	}
	return false
}

// readZipEntry decompresses one entry, at most limit bytes, charging the shared budget.
func readZipEntry(zf *zip.File, limit int64, budget *int64) ([]byte, error) {
	if int64(zf.UncompressedSize64) > limit {
		return nil, fmt.Errorf("entry is %d bytes uncompressed, more than %d", zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	max := min(limit, *budget)
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	*budget -= int64(len(data))
	if int64(len(data)) > max {
		return nil, fmt.Errorf("entry decompresses to more than %d bytes (decompression bomb?)", max)
	}
	return data, nil
}

func parsePomProperties(data []byte) (Package, bool) {
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if ok {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if g == "" || a == "" || v == "" || strings.Contains(v, "${") {
		return Package{}, false
	}
	return Package{Name: g + ":" + a, Version: v, Type: TypeMaven}, true
}

// parseManifest reads a MANIFEST.MF main section (continuation lines start with a space).
func parseManifest(data []byte) map[string]string {
	m := map[string]string{}
	var last string
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if line == "" {
			break // end of the main section
		}
		if line[0] == ' ' && last != "" {
			m[last] += line[1:]
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			last = strings.TrimSpace(k)
			m[last] = strings.TrimSpace(v)
		}
	}
	return m
}

var jarFileName = regexp.MustCompile(`^(.+?)-(\d[\w.\-]*)$`)

// fromManifest identifies an archive without pom.properties.
func fromManifest(m map[string]string, where string) (Package, bool) {
	group := firstOf(m, "Implementation-Vendor-Id", "Bundle-SymbolicName")
	artifact := firstOf(m, "Implementation-Title", "Bundle-Name")
	version := firstOf(m, "Implementation-Version", "Bundle-Version")
	file := where
	if i := strings.LastIndex(file, "!/"); i >= 0 {
		file = file[i+2:]
	}
	file = base(file)
	if i := strings.LastIndexByte(file, '.'); i > 0 {
		file = file[:i]
	}
	if mm := jarFileName.FindStringSubmatch(file); mm != nil {
		artifact = mm[1]
		if version == "" {
			version = mm[2]
		}
	}
	if artifact == "" || version == "" {
		return Package{}, false
	}
	name := artifact
	if group != "" && group != artifact && !strings.Contains(group, " ") {
		if strings.HasSuffix(group, "."+artifact) {
			group = strings.TrimSuffix(group, "."+artifact)
		}
		name = group + ":" + artifact
	}
	return Package{Name: name, Version: version, Type: TypeMaven, Path: where}, true
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			v, _, _ = strings.Cut(v, ";") // Bundle-SymbolicName: x;singleton:=true
			return strings.TrimSpace(v)
		}
	}
	return ""
}
