package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// image-has-build-tool: the final filesystem has a compiler or build tool (gcc, g++, cc, c++,
// clang, make, go) on the default PATH or in Go's own bin directory. It lets an intruder build
// tools in place, and shows the build stage was shipped.
var hasBuildTool = registerComponent(image.ClassBuildTool, finding.Rule{
	ID:       "image-has-build-tool",
	Title:    "Image contains a compiler or build tool",
	Severity: finding.Medium,
	Description: "A compiler or build tool in the final image (gcc, cc, make, go...) lets an intruder build tools in " +
		"place and means the build environment was shipped with the application.",
	Remediation: "Use a multi-stage build: compile in a builder stage and copy only the binary into a distroless or " +
		"scratch final stage.",
	References: []string{"redoubt:unnecessary-components"},
})
