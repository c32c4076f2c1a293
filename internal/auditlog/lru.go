package auditlog

import "container/list"

// lru is a map bounded to max entries that forgets the least recently used one when full: the
// detections' per-subject and per-source state, so that a log with millions of distinct users
// or addresses cannot grow memory without bound.
type lru[K comparable, V any] struct {
	max     int
	items   map[K]*list.Element
	order   *list.List
	evicted int64
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*list.Element), order: list.New()}
}

// get returns the value for k and marks it used.
func (c *lru[K, V]) get(k K) (V, bool) {
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// put sets the value for k, evicting the least recently used entry when full.
func (c *lru[K, V]) put(k K, v V) {
	if el, ok := c.items[k]; ok {
		el.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[K, V]).key)
		c.evicted++
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v})
}

func (c *lru[K, V]) len() int { return c.order.Len() }
