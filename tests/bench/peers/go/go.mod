module cursord.dev/bench/peer

go 1.19

require github.com/gorilla/websocket v1.5.0

// Built offline from Debian's golang-github-gorilla-websocket-dev.
replace github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
