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

function argValue(argv, name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
}

function parseListen(argv) {
  const spec = argValue(argv, '--listen', '127.0.0.1:8080');
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

// Sends to this process's members of the room.
function sendLocal(room, sender, message) {
  for (const member of room.members) {
    if (member && member !== sender && member.readyState === WebSocket.OPEN) {
      member.send(message);
    }
  }
}

function broadcast(room, sender, message) {
  sendLocal(room, sender, message);
  if (backplane) backplane.publish(room.id, message);
}

function newRoom(roomId) {
  return { id: roomId, members: new Array(MAX_MEMBERS), count: 0 };
}

// Single process: the lowest free id in this process's room.
function claimLocal(room) {
  let id = 0;
  while (id < MAX_MEMBERS && room.members[id]) id++;
  if (id === MAX_MEMBERS) return null;
  const ids = [];
  room.members.forEach((member, memberId) => {
    if (member) ids.push(memberId);
  });
  ids.push(id);
  ids.sort((a, b) => a - b);
  return { id, ids };
}

function join(roomId, ws) {
  let room = rooms.get(roomId);
  if (!room) {
    room = newRoom(roomId);
    rooms.set(roomId, room);
    if (backplane) room.subscribed = backplane.subscribe(roomId);
  }
  // Counted from the start so that the room stays while the id is claimed.
  room.count++;
  if (!backplane) {
    const claimed = claimLocal(room);
    if (claimed) {
      joined(room, ws, claimed.id, claimed.ids);
    } else {
      ws.close(1013, 'room full');
      leaveRoom(room);
    }
    return;
  }
  let closedEarly = false;
  ws.once('close', () => {
    closedEarly = true;
  });
  // Subscribed before the id is claimed, so nothing published after the
  // claim is missed.
  room.subscribed.then(() => backplane.claim(roomId)).then(
    (claimed) => {
      if (closedEarly) {
        if (claimed) backplane.release(roomId, claimed.id);
        leaveRoom(room);
        return;
      }
      if (!claimed) {
        ws.close(1013, 'room full');
        leaveRoom(room);
        return;
      }
      joined(room, ws, claimed.id, claimed.ids);
    },
    (err) => {
      console.error(`join failed: ${err.message}`);
      ws.close(1011, 'backplane error');
      leaveRoom(room);
    },
  );
}

function leaveRoom(room) {
  room.count--;
  if (room.count === 0) {
    rooms.delete(room.id);
    if (backplane) backplane.unsubscribe(room.id);
  }
}

function joined(room, ws, id, ids) {
  room.members[id] = ws;
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
    if (backplane) backplane.release(room.id, id);
    broadcast(room, ws, Buffer.from([MSG_LEFT, id]));
    leaveRoom(room);
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

// --- The Redis backplane (--redis) ------------------------------------------

// Claims the lowest free id of a room atomically and returns it with the
// room's bitmap (for the member list), or -1 when the room is full.
const CLAIM_ID = `
local id = redis.call('BITPOS', KEYS[1], 0)
if id < 0 or id >= tonumber(ARGV[1]) then return {-1, ''} end
redis.call('SETBIT', KEYS[1], id, 1)
return {id, redis.call('GET', KEYS[1])}
`;

const idsKey = (roomId) => `peer:room:${roomId}:ids`;
const channelOf = (roomId) => `peer:room:${roomId}`;

function bitmapIds(bitmap) {
  const ids = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      // SETBIT numbers bits from the most significant one of each byte.
      if (bitmap[byte] & (0x80 >> bit)) ids.push(byte * 8 + bit);
    }
  }
  return ids;
}

async function connectBackplane(url) {
  const Redis = require('ioredis');
  // One connection for commands and publishing, one for subscriptions
  // (a subscribed connection can do nothing else).
  const pub = new Redis(url, { lazyConnect: true });
  const sub = new Redis(url, { lazyConnect: true });
  await Promise.all([pub.connect(), sub.connect()]);
  pub.defineCommand('claimId', { numberOfKeys: 1, lua: CLAIM_ID });
  // Every message on a channel starts with the publishing process's number,
  // so a process can skip its own (it sent them to its members directly).
  const origin = await pub.incr('peer:processes');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(origin);
  sub.on('messageBuffer', (channel, message) => {
    if (message.length < 5 || message.readUInt32BE(0) === origin) return;
    const room = rooms.get(channel.toString().slice('peer:room:'.length));
    if (room) sendLocal(room, null, message.subarray(4));
  });
  return {
    origin,
    subscribe: (roomId) => sub.subscribe(channelOf(roomId)),
    unsubscribe: (roomId) => {
      sub.unsubscribe(channelOf(roomId)).catch(() => {});
    },
    publish: (roomId, message) => {
      pub.publish(channelOf(roomId), Buffer.concat([header, message])).catch(() => {});
    },
    claim: async (roomId) => {
      const [id, bitmap] = await pub.claimIdBuffer(idsKey(roomId), MAX_MEMBERS);
      return id < 0 ? null : { id, ids: bitmapIds(bitmap) };
    },
    release: (roomId, id) => {
      pub.setbit(idsKey(roomId), id, 0).catch(() => {});
    },
  };
}

let backplane = null;

async function main() {
  const redisUrl = argValue(process.argv, '--redis', null);
  if (redisUrl) backplane = await connectBackplane(redisUrl);
  const { host, port } = parseListen(process.argv);
  server.listen(port, host, () => {
    const address = server.address();
    const via = backplane ? ` (redis ${redisUrl}, process ${backplane.origin})` : '';
    console.log(`listening on ${address.address}:${address.port}${via}`);
  });
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
