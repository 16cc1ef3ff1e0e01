// Gatehouse approver's service worker (scope /approve): keeps the page's shell for offline starts
// (the page, its script and style, as last fetched), and shows a notification when a push
// message says a login is waiting (the message carries only an opaque request id).
'use strict';
const CACHE = 'gatehouse-approver-v1';

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.add('/approve')).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(self.clients.claim());
});

// The shell from the network when there is one (and kept), from the cache when not. The API is
// never cached: requests and decisions are live or not at all.
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/approve/api/')) return;
  if (url.pathname !== '/approve' && !url.pathname.startsWith('/static/') && url.pathname !== '/approve/manifest.webmanifest') return;
  e.respondWith(
    fetch(e.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          void caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(e.request).then((hit) => hit || Response.error())),
  );
});

self.addEventListener('push', (e) => {
  let id = '';
  try {
    id = e.data ? String(e.data.json().id || '') : '';
  } catch {
    id = '';
  }
  e.waitUntil(self.registration.showNotification('Login request', { body: 'Someone is signing in as you. Open to approve or deny.', tag: id || 'gatehouse', data: { id }, requireInteraction: true }));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((wins) => {
      const open = wins.find((w) => new URL(w.url).pathname === '/approve');
      return open ? open.focus() : self.clients.openWindow('/approve');
    }),
  );
});
