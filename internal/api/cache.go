package api

import (
	"sync"
	"time"
)

// cache remembers values until they expire, holding at most max entries. When full it drops
// the expired entries and, if none have expired, the entry closest to expiry: a flood of new
// tokens can only push out answers, never grow the process.
type cache[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	value   V
	expires time.Time
}

func newCache[V any](max int) *cache[V] {
	return &cache[V]{max: max, entries: make(map[string]cacheEntry[V], min(max, 256))}
}

func (c *cache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *cache[V]) put(key string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.evict(time.Now())
	}
	c.entries[key] = cacheEntry[V]{value: v, expires: expires}
}

// evict makes room for one entry. It is linear in the cache size, and runs only when the cache
// is full, which a bounded set of users rarely makes it.
func (c *cache[V]) evict(now time.Time) {
	var soonest string
	var soonestAt time.Time
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if soonest == "" || e.expires.Before(soonestAt) {
			soonest, soonestAt = k, e.expires
		}
	}
	if len(c.entries) >= c.max && soonest != "" {
		delete(c.entries, soonest)
	}
}

func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
