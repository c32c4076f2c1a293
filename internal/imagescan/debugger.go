package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// image-has-debugger: the final filesystem has a debugger or tracer (gdb, strace, ltrace,
// tcpdump) on the default PATH. They read other processes' memory and sniff traffic: debugging
// belongs in an ephemeral debug container (`kubectl debug`), not in the production image.
var hasDebugger = registerComponent(image.ClassDebugger, finding.Rule{
	ID:       "image-has-debugger",
	Title:    "Image contains a debugger or tracer",
	Severity: finding.Medium,
	Description: "A debugger or tracer in the final image (gdb, strace, ltrace, tcpdump) can read process memory and sniff " +
		"traffic.",
	Remediation: "Remove it from the image and debug with an ephemeral container (`kubectl debug`) when needed.",
	References:  []string{"redoubt:unnecessary-components"},
})
