package imagescan

import (
	"fmt"
	"path"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/extract"
)

// componentRules maps a component class to its rule.
var componentRules = map[string]*finding.Rule{}

func registerComponent(class string, r finding.Rule) *finding.Rule {
	r.Phase = finding.PhaseBuild
	rule := finding.Register(r)
	componentRules[class] = rule
	return rule
}

// componentFinding reports one component with a removal hint that fits how it got there.
func componentFinding(rep *image.Report, c *image.Component, res finding.Resource, loc finding.Location) finding.Finding {
	what := "/" + c.Path
	if c.Target != "" {
		what += " -> /" + c.Target
	}
	names := ""
	if len(c.Names) > 1 {
		names = " (also " + strings.Join(others(c.Names, c.Name), ", ") + ")"
	}
	if c.Removed {
		msg := fmt.Sprintf("%s %s was deleted by %s, but package %s is still registered in the %s database: scanners and SBOMs still list it, and its vulnerabilities still count",
			c.Class, c.Name, layerLabel(c.Layer, c.CreatedBy), c.Package, dbName(c.PackageType))
		f := removedComponent.New(res, loc, msg)
		f.Remediation = fmt.Sprintf("Remove the package, not the file: %s, in the layer that installed it.", removeCommand(c.PackageType, c.Package))
		f.Evidence = map[string]any{"class": c.Class, "name": c.Name, "path": what, "package": c.Package}
		return f
	}
	rule := componentRules[c.Class]
	msg := fmt.Sprintf("%s %s%s at %s, added by %s", strings.ReplaceAll(c.Class, "-", " "), c.Name, names, what, layerLabel(c.Layer, c.CreatedBy))
	if c.Package != "" {
		msg += fmt.Sprintf(", from package %s", c.Package)
	}
	f := rule.New(res, loc, msg)
	f.Remediation = removalHint(rep, c)
	f.Evidence = map[string]any{"class": c.Class, "name": c.Name, "path": what}
	if c.Package != "" {
		f.Evidence["package"] = c.Package
	}
	return f
}

func others(names []string, primary string) []string {
	var out []string
	for _, n := range names {
		if n != primary {
			out = append(out, n)
		}
	}
	return out
}

func dbName(typ string) string {
	switch typ {
	case extract.TypeApk:
		return "apk"
	case extract.TypeRPM:
		return "rpm"
	}
	return "dpkg"
}

func removeCommand(typ, pkg string) string {
	switch typ {
	case extract.TypeApk:
		return "`apk del " + pkg + "`"
	case extract.TypeRPM:
		return "`dnf remove -y " + pkg + "`"
	}
	return "`apt-get purge -y --auto-remove " + pkg + "`"
}

// removalHint says concretely how to get rid of a component.
func removalHint(rep *image.Report, c *image.Component) string {
	layer := layerLabel(c.Layer, c.CreatedBy)
	switch {
	case c.Package != "" && isEssential(c.Package):
		return fmt.Sprintf("%s comes with the base image's essential package %s, which the package manager will not remove: build FROM a distroless or scratch base and copy only the application into it (a multi-stage build).", c.Name, c.Package)
	case c.Package != "":
		return fmt.Sprintf("Remove it with %s in the same RUN instruction that installed it (%s), so no layer keeps it; better, install it only in a build stage and copy the artifacts into a distroless or scratch final stage.", removeCommand(c.PackageType, c.Package), layer)
	case path.Base(c.Target) == "busybox" || c.Name == "busybox":
		return "This is busybox, which provides a shell and network tools in one binary: use a distroless or scratch base without busybox, or delete /bin/busybox and its links in the final stage."
	}
	return fmt.Sprintf("Do not copy /%s into the final image: it was added by %s. Use a multi-stage build and copy only the application into a distroless or scratch final stage.", c.Path, layer)
}

// isEssential names Debian's Essential: yes packages that carry components: apt refuses to remove
// them without --allow-remove-essential.
func isEssential(pkg string) bool {
	switch pkg {
	case "bash", "dash", "dpkg", "busybox":
		return true
	}
	return false
}
