package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// image-has-package-manager: the final filesystem has a package manager (apt, apt-get, dpkg,
// apk, yum, dnf, microdnf, rpm, pip, pip3, npm, npx, yarn, pnpm) on the default PATH. A package
// manager lets an intruder install whatever tool the image lacks, and its presence usually
// means the build left its toolchain behind.
var hasPackageManager = registerComponent(image.ClassPackageManager, finding.Rule{
	ID:       "image-has-package-manager",
	Title:    "Image contains a package manager",
	Severity: finding.Low,
	Description: "A package manager in the final image (apt, dpkg, apk, yum, dnf, rpm, pip, npm...) lets anyone with code " +
		"execution install the tools the image lacks.",
	Remediation: "Install dependencies in a build stage and copy only the results into a distroless or scratch final " +
		"stage; or remove the package manager in the final stage.",
	References: []string{"redoubt:unnecessary-components"},
})
