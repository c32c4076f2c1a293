package api

import (
	"fmt"
	"testing"
	"time"
)

func TestCacheIsBounded(t *testing.T) {
	c := newCache[int](8)
	now := time.Now()
	for i := range 100 {
		c.put(fmt.Sprint(i), i, now.Add(time.Hour+time.Duration(i)*time.Second))
		if n := c.len(); n > 8 {
			t.Fatalf("after %d puts the cache holds %d entries, want at most 8", i+1, n)
		}
	}
	// The newest entries expire last, so they are the ones kept.
	if v, ok := c.get("99", now); !ok || v != 99 {
		t.Errorf("get(99) = %d, %v; want the newest entry kept", v, ok)
	}
	if _, ok := c.get("0", now); ok {
		t.Error("get(0) found the entry closest to expiry, which a full cache must drop first")
	}
}

func TestCacheExpires(t *testing.T) {
	c := newCache[string](4)
	now := time.Now()
	c.put("a", "x", now.Add(time.Second))
	if _, ok := c.get("a", now); !ok {
		t.Fatal("a fresh entry was not found")
	}
	if _, ok := c.get("a", now.Add(time.Second)); ok {
		t.Error("an entry was returned at its expiry time")
	}
	if c.len() != 0 {
		t.Errorf("an expired entry that was asked for is still held (%d entries)", c.len())
	}
}

func TestCacheFullOfExpiredEntriesMakesRoom(t *testing.T) {
	c := newCache[int](3)
	past := time.Now().Add(-time.Minute)
	for i := range 3 {
		c.put(fmt.Sprint(i), i, past)
	}
	c.put("new", 1, time.Now().Add(time.Hour))
	if n := c.len(); n != 1 {
		t.Errorf("cache holds %d entries after a put into a cache of expired entries, want 1", n)
	}
}

func TestDecisionKeyIgnoresGroupOrder(t *testing.T) {
	a := Attributes{Verb: "list", Resource: ResourceFindings, Namespace: "web"}
	k1 := decisionKey(&User{Name: "alice", Groups: []string{"a", "b"}}, a)
	k2 := decisionKey(&User{Name: "alice", Groups: []string{"b", "a"}}, a)
	if k1 != k2 {
		t.Error("the same user with groups in another order gets another decision")
	}
	for _, other := range []struct {
		u *User
		a Attributes
	}{
		{&User{Name: "alice", Groups: []string{"a"}}, a},
		{&User{Name: "bob", Groups: []string{"a", "b"}}, a},
		{&User{Name: "alice", Groups: []string{"a", "b"}}, Attributes{Verb: "list", Resource: ResourceFindings}},
		{&User{Name: "alice", Groups: []string{"a", "b"}}, Attributes{Verb: "create", Resource: ResourceFindings, Namespace: "web"}},
		{&User{Name: "alice", Groups: []string{"a", "b"}, Extra: map[string][]string{"scopes": {"x"}}}, a},
	} {
		if decisionKey(other.u, other.a) == k1 {
			t.Errorf("decision for %+v %v shares the key of alice's list in web", other.u, other.a)
		}
	}
}
