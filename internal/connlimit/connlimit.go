// Package connlimit bounds the connections an HTTP server holds open, so that a crowd of
// clients (or one client opening keep-alive connections and leaving them idle) cannot exhaust
// the process's file descriptors and lock everyone else out.
//
// A Limiter wraps the listener and is the http.Server's ConnState hook. It keeps at most Max
// connections open: when a new connection would exceed that, the longest-idle keep-alive
// connection is closed to make room; when none is idle, Accept waits for a connection to end
// (new clients queue in the kernel's backlog instead of failing). Independently, at most
// MaxIdle connections may sit idle: the oldest beyond that is closed. Connections serving a
// request are never closed here.
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"sync"
)

// Limiter bounds open and idle connections. Create it with New.
type Limiter struct {
	max, maxIdle int
	slots        chan struct{}

	mu    sync.Mutex
	idle  *list.List // of *conn, oldest first
	where map[*conn]*list.Element
}

// New returns a Limiter for at most max open connections of which at most maxIdle idle.
// max must be at least 1; maxIdle at most max (0 means max/2).
func New(max, maxIdle int) *Limiter {
	if max < 1 {
		max = 1
	}
	if maxIdle <= 0 || maxIdle > max {
		maxIdle = max / 2
	}
	return &Limiter{max: max, maxIdle: maxIdle, slots: make(chan struct{}, max), idle: list.New(), where: make(map[*conn]*list.Element)}
}

// Listener wraps ln so that Accept respects the limit.
func (l *Limiter) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

// Open returns the number of open connections.
func (l *Limiter) Open() int { return len(l.slots) }

// Idle returns the number of idle keep-alive connections.
func (l *Limiter) Idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

// ConnState is the http.Server ConnState hook: it learns which connections are idle.
func (l *Limiter) ConnState(c net.Conn, st http.ConnState) {
	cc, ok := c.(*conn)
	if !ok {
		return
	}
	var victim *conn
	l.mu.Lock()
	switch st {
	case http.StateIdle:
		if _, in := l.where[cc]; !in {
			l.where[cc] = l.idle.PushBack(cc)
		}
		if l.idle.Len() > l.maxIdle {
			victim = l.removeLocked(l.idle.Front().Value.(*conn))
		}
	default: // active again, closed or hijacked: not idle
		if _, in := l.where[cc]; in {
			l.removeLocked(cc)
		}
	}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

func (l *Limiter) removeLocked(c *conn) *conn {
	l.idle.Remove(l.where[c])
	delete(l.where, c)
	return c
}

// closeOldestIdle closes the longest-idle connection, reporting whether there was one.
func (l *Limiter) closeOldestIdle() bool {
	l.mu.Lock()
	front := l.idle.Front()
	var victim *conn
	if front != nil {
		victim = l.removeLocked(front.Value.(*conn))
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close()
	return true
}

type listener struct {
	net.Listener
	l *Limiter
}

func (ln *listener) Accept() (net.Conn, error) {
	l := ln.l
	select {
	case l.slots <- struct{}{}:
	default:
		// Full: make room by closing an idle keep-alive connection, else wait for one to end.
		// Closing releases its slot once its serving goroutine notices; wait for that slot.
		l.closeOldestIdle()
		l.slots <- struct{}{}
	}
	c, err := ln.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &conn{Conn: c, l: l}, nil
}

type conn struct {
	net.Conn
	l    *Limiter
	once sync.Once
}

// Close closes the connection and frees its slot (once, however often it is called).
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		if _, in := c.l.where[c]; in {
			c.l.removeLocked(c)
		}
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
