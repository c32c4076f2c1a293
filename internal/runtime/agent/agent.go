// Package agent is `redoubt sensor`: it loads the eBPF sensor, attributes each event to its
// node, container and pod, runs the runtime detections, and writes events and alerts as JSON
// lines. It holds the wiring; the parts live in sensor, origin, detect and event.
package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/runtime/cgroup"
	"redoubt.dev/redoubt/internal/runtime/detect"
	"redoubt.dev/redoubt/internal/runtime/event"
	"redoubt.dev/redoubt/internal/runtime/origin"
	"redoubt.dev/redoubt/internal/runtime/sensor"
)

// Config says where the agent runs and what it writes.
type Config struct {
	// Node is this node's name, as the API server knows it.
	Node string
	// Kube, when set, is used to learn the node's pods (pod, namespace, workload, container
	// names); nil runs standalone.
	Kube kubernetes.Interface
	// Network says which addresses are pods and services.
	Network event.Network
	// Output receives one JSON object per line: events (unless AlertsOnly) and alerts.
	Output io.Writer
	// AlertsOnly leaves events out of the output.
	AlertsOnly bool
	// Log receives the agent's own messages (start, losses, stop); nil discards them.
	Log *slog.Logger
	// Ready, when set, is called once the programs are attached: events from then on are seen.
	Ready func()
}

// Stats counts what a run saw.
type Stats struct {
	Events, Alerts uint64
	Lost           sensor.Drops
}

// Run runs the agent until ctx is done, then detaches everything and returns what it saw.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var stats Stats
	root, err := cgroup.Unified()
	if err != nil {
		return stats, err
	}
	var pods *origin.PodIndex
	if cfg.Kube != nil {
		watchCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		pods, err = origin.WatchPods(watchCtx, cfg.Kube, cfg.Node)
		if err != nil {
			return stats, err
		}
		defer pods.Stop()
		defer cancel() // runs before Stop: the informer must be told to end before it is waited for
	}
	resolver := cgroup.NewResolver(root)
	defer resolver.Close()
	attr := origin.NewAttributor(cfg.Node, resolver, pods)

	s, err := sensor.Load()
	if err != nil {
		return stats, err
	}
	defer s.Close()
	log.Info("sensor attached", "node", cfg.Node, "cgroupRoot", root, "pods", pods != nil)
	if cfg.Ready != nil {
		cfg.Ready()
	}

	w := bufio.NewWriterSize(cfg.Output, 64<<10)
	enc := json.NewEncoder(w)
	// A failed write (a closed pipe, a full disk) stops the agent: running blind is worse.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var writeErr error
	write := func(v any) {
		if writeErr == nil {
			if writeErr = enc.Encode(v); writeErr != nil {
				stop()
			}
		}
	}
	det := detect.New()
	var lastLost uint64
	err = s.Run(runCtx, sensor.Options{
		Origin:  attr.Origin,
		Network: cfg.Network,
		Idle: func() {
			if writeErr == nil {
				if writeErr = w.Flush(); writeErr != nil {
					stop()
				}
			}
		},
		OnDrops: func(d sensor.Drops) {
			since := d.Total() - lastLost
			lastLost = d.Total()
			stats.Lost = d
			log.Warn("ring buffer full: events lost", "lost", since, "total", d.Total())
			a := detect.LostEvents(cfg.Node, time.Now().UTC(), d, since)
			stats.Alerts++
			write(a)
		},
	}, func(e *event.Event) {
		stats.Events++
		if !cfg.AlertsOnly {
			write(e)
		}
		for _, a := range det.Observe(e) {
			stats.Alerts++
			write(a)
		}
	})
	if d, derr := s.Drops(); derr == nil {
		stats.Lost = d
	}
	if ferr := w.Flush(); writeErr == nil {
		writeErr = ferr
	}
	log.Info("sensor stopped", "events", stats.Events, "alerts", stats.Alerts, "lost", stats.Lost.Total())
	if err != nil {
		return stats, err
	}
	if writeErr != nil {
		return stats, fmt.Errorf("writing events: %w", writeErr)
	}
	return stats, nil
}
