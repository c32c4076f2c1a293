package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// image-has-shell: the image's final filesystem has a shell (sh, bash, dash, ash, zsh, ksh,
// mksh, csh, tcsh, fish, or busybox, which is one) in a directory on the default PATH (/bin,
// /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin). A shell lets anyone who gets
// code execution in the container, or `kubectl exec` rights, script the rest of an attack; an
// application rarely needs one at run time. Files deleted by a later layer are not counted.
var hasShell = registerComponent(image.ClassShell, finding.Rule{
	ID:       "image-has-shell",
	Title:    "Image contains a shell",
	Severity: finding.Low,
	Description: "A shell in the final image (sh, bash, dash, ash, zsh, ksh, busybox...) turns any code execution or " +
		"`kubectl exec` into an interactive foothold. Applications rarely need one at run time.",
	Remediation: "Build FROM a distroless or scratch base and copy only the application into it (a multi-stage build); " +
		"use exec-form ENTRYPOINT/CMD so no shell is needed to start it.",
	References: []string{"redoubt:unnecessary-components"},
})
