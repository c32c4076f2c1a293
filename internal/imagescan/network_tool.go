package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// image-has-network-tool: the final filesystem has a general-purpose network tool (curl,
// wget, nc/ncat/netcat, socat, telnet, ssh, scp, sftp, nmap) on the default PATH. These
// download second-stage payloads, exfiltrate data and open reverse shells; an application that
// needs HTTP has a client library.
var hasNetworkTool = registerComponent(image.ClassNetworkTool, finding.Rule{
	ID:       "image-has-network-tool",
	Title:    "Image contains a network tool",
	Severity: finding.Medium,
	Description: "A general-purpose network tool in the final image (curl, wget, nc, socat, telnet, ssh, scp, nmap) is " +
		"what an intruder uses to fetch payloads, exfiltrate data and open reverse shells.",
	Remediation: "Remove it in the layer that installs it, or use it only in a build stage; for health checks, use the " +
		"application's own endpoint with an HTTP probe instead of curl.",
	References: []string{"redoubt:unnecessary-components"},
})
