package image

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// TerminalProgress prints layer progress for a person at a terminal: one line per layer as it
// finishes, and a running byte count (rewritten in place) at most every 200 ms.
type TerminalProgress struct {
	W    io.Writer
	mu   sync.Mutex
	last time.Time
	live map[int]int64
	tot  map[int]int
}

// LayerStart implements Progress.
func (p *TerminalProgress) LayerStart(ref string, index, total int, diffID string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live == nil {
		p.live, p.tot = map[int]int64{}, map[int]int{}
	}
	p.live[index], p.tot[index] = 0, total
}

// LayerBytes implements Progress.
func (p *TerminalProgress) LayerBytes(ref string, index int, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[index] = n
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	var sum int64
	for _, v := range p.live {
		sum += v
	}
	fmt.Fprintf(p.W, "\r\x1b[K%s: reading %d layer(s), %s", ref, len(p.live), humanBytes(sum))
}

// LayerDone implements Progress.
func (p *TerminalProgress) LayerDone(ref string, index int, cached bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.live[index]
	delete(p.live, index)
	switch {
	case err != nil:
		fmt.Fprintf(p.W, "\r\x1b[K%s: layer %d: %v\n", ref, index, err)
	case cached:
		fmt.Fprintf(p.W, "\r\x1b[K%s: layer %d cached\n", ref, index)
	default:
		fmt.Fprintf(p.W, "\r\x1b[K%s: layer %d read (%s)\n", ref, index, humanBytes(n))
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
