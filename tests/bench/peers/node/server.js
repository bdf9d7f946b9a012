'use strict';
// The cursor protocol on Node.js and ws, written the way the ws README and
// the usual cursor-sharing tutorials do it: one Set-like map of members per
// room, ws.send() to every other member. A benchmark peer for cursord.
//
// Usage: node server.js [--listen 127.0.0.1:8080]
// Prints "listening on HOST:PORT" once ready (port 0 picks a free one).

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const MAX_MEMBERS = 256; // ids are one byte
const ROOM_PATH = /^\/rooms\/([A-Za-z0-9._~:@-]{1,128})$/;
const HEARTBEAT_MS = 30000;

const MSG_YOUR_ID = 0x01;
const MSG_MEMBERS = 0x02;
const MSG_JOINED = 0x03;
const MSG_LEFT = 0x04;
const MSG_CURSOR = 0x05;
const MSG_CLICK_START = 0x06;
const MSG_CLICK_STOP = 0x07;

function parseListen(argv) {
  const i = argv.indexOf('--listen');
  const spec = i >= 0 ? argv[i + 1] : '127.0.0.1:8080';
  const colon = spec.lastIndexOf(':');
  return { host: spec.slice(0, colon), port: Number(spec.slice(colon + 1)) };
}

function roomFromUrl(url) {
  const path = url.split('?')[0];
  if (path === '/') return 'default';
  const match = ROOM_PATH.exec(path);
  return match ? match[1] : null;
}

// roomId -> { members: Array(256) of ws or undefined, count }
const rooms = new Map();

function broadcast(room, sender, message) {
  for (const member of room.members) {
    if (member && member !== sender && member.readyState === WebSocket.OPEN) {
      member.send(message);
    }
  }
}

function join(roomId, ws) {
  let room = rooms.get(roomId);
  if (!room) {
    room = { members: new Array(MAX_MEMBERS), count: 0 };
    rooms.set(roomId, room);
  }
  let id = 0;
  while (id < MAX_MEMBERS && room.members[id]) id++;
  if (id === MAX_MEMBERS) {
    ws.close(1013, 'room full');
    return;
  }
  room.members[id] = ws;
  room.count++;

  const ids = [];
  room.members.forEach((member, memberId) => {
    if (member) ids.push(memberId);
  });
  ws.send(Buffer.from([MSG_YOUR_ID, id]));
  ws.send(Buffer.from([MSG_MEMBERS, ...ids]));
  broadcast(room, ws, Buffer.from([MSG_JOINED, id]));

  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });

  ws.on('message', (data, isBinary) => {
    if (!isBinary || data.length === 0) return;
    switch (data[0]) {
      case MSG_CURSOR:
        if (data.length < 5) return;
        broadcast(room, ws, Buffer.from([MSG_CURSOR, id, data[1], data[2], data[3], data[4]]));
        break;
      case MSG_CLICK_START:
      case MSG_CLICK_STOP:
        broadcast(room, ws, Buffer.from([data[0], id]));
        break;
      default:
        break;
    }
  });

  ws.on('close', () => {
    room.members[id] = undefined;
    room.count--;
    if (room.count === 0) {
      rooms.delete(roomId);
    } else {
      broadcast(room, ws, Buffer.from([MSG_LEFT, id]));
    }
  });
}

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('WebSocket only\n');
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });

server.on('upgrade', (req, socket, head) => {
  const roomId = roomFromUrl(req.url);
  if (roomId === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => join(roomId, ws));
});

// The ws README's heartbeat: drop connections that stop answering pings.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, HEARTBEAT_MS);
wss.on('close', () => clearInterval(heartbeat));

const { host, port } = parseListen(process.argv);
server.listen(port, host, () => {
  const address = server.address();
  console.log(`listening on ${address.address}:${address.port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
