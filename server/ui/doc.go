// Package ui is the daemon's live read-only web page: index.html, app.js
// (with the module view.js) and style.css, embedded in the binary (no CDN, no build step, no
// framework), served at / and /ui/ by the server package.
//
// It owns the assets and the headers they are served with: exact content
// types and a Content-Security-Policy that allows only the page's own
// script, style and connections ('self'), no inline code, no frames. The
// page reads the REST API and the watch WebSocket with the same key the
// API takes (kept in sessionStorage, sent as a header, and on the
// WebSocket as a subprotocol: see docs/ui.md); it never makes a call that
// changes anything, and inserts every value as text, never as HTML.
//
// It must never hold data (the assets are the same for every client, so
// they are served without a key) nor import the server, the reconciler or
// the runtime.
package ui
