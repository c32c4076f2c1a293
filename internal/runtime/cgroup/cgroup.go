// Package cgroup turns the cgroup id the kernel reports into what a person recognises: the
// cgroup v2 path, the container id and runtime the path encodes, and the pod UID the kubelet
// put in it. It reads only the cgroup filesystem, so it works without an API server.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Unified returns the mount point of the cgroup v2 (unified) hierarchy: /sys/fs/cgroup on
// most nodes, /sys/fs/cgroup/unified on hybrid systems. It reads mountinfo rather than
// assuming either.
func Unified() (string, error) {
	return unifiedFrom("/proc/self/mountinfo")
}

func unifiedFrom(mountinfo string) (string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", fmt.Errorf("finding the cgroup v2 mount: %w", err)
	}
	defer f.Close()
	best := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 0:30 / /sys/fs/cgroup/unified rw,relatime shared:6 - cgroup2 cgroup2 rw
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		if fs := strings.Fields(right); len(fs) == 0 || fs[0] != "cgroup2" {
			continue
		}
		fields := strings.Fields(left)
		if len(fields) < 5 || fields[3] != "/" {
			continue // a bind mount of a sub-tree, not the hierarchy's root
		}
		mp := unescapeMount(fields[4])
		if best == "" || len(mp) < len(best) {
			best = mp
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", mountinfo, err)
	}
	if best == "" {
		return "", errors.New("no cgroup v2 hierarchy is mounted (the sensor needs cgroup v2: mount -t cgroup2 none /sys/fs/cgroup)")
	}
	return best, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Container is what a cgroup path says about the container in it.
type Container struct {
	ID string
	// Runtime is containerd, cri-o or docker, or "" when the path does not say.
	Runtime string
	PodUID  string
}

var (
	// Names the runtimes give a container's cgroup with the systemd driver.
	scopeName = regexp.MustCompile(`^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$`)
	// The cgroupfs driver: the bare id under the pod's directory.
	bareID = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// kubepods-besteffort-pod<uid>.slice, kubepods-pod<uid>.slice (guaranteed QoS).
	podSlice = regexp.MustCompile(`^kubepods(?:-(?:besteffort|burstable))?-pod([0-9a-f_]{36})\.slice$`)
	// cgroupfs driver: pod<uid>.
	podDir = regexp.MustCompile(`^pod([0-9a-f-]{36})$`)
)

var runtimeNames = map[string]string{"cri-containerd": "containerd", "crio": "cri-o", "docker": "docker"}

// Parse reads a cgroup v2 path (relative to the hierarchy's root, as /proc/PID/cgroup gives
// it) and returns the container and pod it encodes. The deepest container id wins, so a
// process in a sub-cgroup of a container is still attributed to it. ok is false for a path
// outside any container and pod (the node's own services).
func Parse(path string) (c Container, ok bool) {
	for _, part := range strings.Split(path, "/") {
		if m := scopeName.FindStringSubmatch(part); m != nil {
			c.ID, c.Runtime = m[2], runtimeNames[m[1]]
			continue
		}
		if m := podSlice.FindStringSubmatch(part); m != nil {
			c.PodUID = strings.ReplaceAll(m[1], "_", "-")
			continue
		}
		if m := podDir.FindStringSubmatch(part); m != nil {
			c.PodUID = m[1]
			continue
		}
		if c.PodUID != "" && bareID.MatchString(part) {
			c.ID, c.Runtime = part, ""
		}
	}
	return c, c.ID != "" || c.PodUID != ""
}
