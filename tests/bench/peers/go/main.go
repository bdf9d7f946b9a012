// The cursor protocol on Go and gorilla/websocket, in the shape of
// gorilla's chat example: a read loop and a write loop per client, a
// buffered send channel between the room and the write loop, and pings to
// find dead peers. A benchmark peer for cursord.
//
// Usage: peer [-listen 127.0.0.1:8080]
// Prints "listening on HOST:PORT" once ready (port 0 picks a free one).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	maxMembers     = 256 // ids are one byte
	sendBuffer     = 256
	writeWait      = 10 * time.Second
	pongWait       = 60 * time.Second
	pingPeriod     = (pongWait * 9) / 10
	maxMessageSize = 1024

	msgYourID     = 0x01
	msgMembers    = 0x02
	msgJoined     = 0x03
	msgLeft       = 0x04
	msgCursor     = 0x05
	msgClickStart = 0x06
	msgClickStop  = 0x07
)

var roomPath = regexp.MustCompile(`^/rooms/([A-Za-z0-9._~:@-]{1,128})$`)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	// A benchmark peer: any origin may connect.
	CheckOrigin: func(r *http.Request) bool { return true },
}

type client struct {
	room *room
	conn *websocket.Conn
	id   byte
	send chan []byte
	// Closed when the client leaves, so a sender blocked on a full send
	// channel never waits on a client that is gone.
	done chan struct{}
}

// enqueue waits for room in the client's send buffer: a slow reader slows
// its room down instead of losing messages or growing without bound.
func (c *client) enqueue(msg []byte) {
	select {
	case c.send <- msg:
	case <-c.done:
	}
}

type room struct {
	name    string
	mu      sync.Mutex
	members [maxMembers]*client
	count   int
}

type registry struct {
	mu    sync.Mutex
	rooms map[string]*room
}

var rooms = registry{rooms: make(map[string]*room)}

// join adds c with the lowest free id; false if the room is full.
func (r *registry) join(name string, c *client) bool {
	r.mu.Lock()
	rm, ok := r.rooms[name]
	if !ok {
		rm = &room{name: name}
		r.rooms[name] = rm
	}
	rm.mu.Lock()
	r.mu.Unlock()

	id := -1
	for i := range rm.members {
		if rm.members[i] == nil {
			id = i
			break
		}
	}
	if id < 0 {
		rm.mu.Unlock()
		return false
	}
	c.room = rm
	c.id = byte(id)
	rm.members[id] = c
	rm.count++
	ids := []byte{msgMembers}
	var others []*client
	for i, m := range rm.members {
		if m != nil {
			ids = append(ids, byte(i))
			if m != c {
				others = append(others, m)
			}
		}
	}
	rm.mu.Unlock()

	c.enqueue([]byte{msgYourID, c.id})
	c.enqueue(ids)
	joined := []byte{msgJoined, c.id}
	for _, m := range others {
		m.enqueue(joined)
	}
	return true
}

func (r *registry) leave(c *client) {
	rm := c.room
	r.mu.Lock()
	rm.mu.Lock()
	rm.members[c.id] = nil
	rm.count--
	if rm.count == 0 {
		delete(r.rooms, rm.name)
	}
	others := rm.othersLocked(c)
	rm.mu.Unlock()
	r.mu.Unlock()

	close(c.done)
	left := []byte{msgLeft, c.id}
	for _, m := range others {
		m.enqueue(left)
	}
}

func (rm *room) othersLocked(c *client) []*client {
	others := make([]*client, 0, rm.count)
	for _, m := range rm.members {
		if m != nil && m != c {
			others = append(others, m)
		}
	}
	return others
}

func (rm *room) broadcast(from *client, msg []byte) {
	rm.mu.Lock()
	others := rm.othersLocked(from)
	rm.mu.Unlock()
	for _, m := range others {
		m.enqueue(msg)
	}
}

// readPump runs in the HTTP handler's goroutine until the connection ends.
func (c *client) readPump() {
	defer func() {
		rooms.leave(c)
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		return nil
	})
	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		// Any message shows the client is alive, not only pongs.
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		if kind != websocket.BinaryMessage || len(data) == 0 {
			continue
		}
		switch data[0] {
		case msgCursor:
			if len(data) < 5 {
				continue
			}
			c.room.broadcast(c, []byte{msgCursor, c.id, data[1], data[2], data[3], data[4]})
		case msgClickStart, msgClickStop:
			c.room.broadcast(c, []byte{data[0], c.id})
		}
	}
}

func (c *client) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case msg := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

func roomName(path string) (string, bool) {
	if path == "/" {
		return "default", true
	}
	m := roomPath.FindStringSubmatch(path)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func serveWs(w http.ResponseWriter, r *http.Request) {
	name, ok := roomName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered the client.
	}
	c := &client{conn: conn, send: make(chan []byte, sendBuffer), done: make(chan struct{})}
	if !rooms.join(name, c) {
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "room full"),
			time.Now().Add(writeWait))
		conn.Close()
		return
	}
	go c.writePump()
	c.readPump()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "listen address host:port")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(serveWs)))
}
