// truyvet service worker: keeps the app shell and an offline page cached so
// pages that queue work (the controller's scan page) open without a network.
const CACHE = "truyvet-{{ version }}";
const SHELL = ["/offline/", "/static/core/site.css", "/static/core/app.js",
               "/static/django_htmx/htmx-2.min.js", "/static/core/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
  );
  self.clients.claim();
});

// The controller's door page and its own scripts and styles are kept each
// time they load (network first), so the page opens at the door without a
// network and its offline queue keeps working.
const KEPT_PAGES = "/checkins/control/";
const KEPT_FILES = "/static/checkins/";

function fetchAndKeep(request) {
  return fetch(request).then((response) => {
    if (response.ok && response.type === "basic") {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).pathname.startsWith("/api/")) return;
  const path = new URL(request.url).pathname;
  if ((request.mode === "navigate" && path.startsWith(KEPT_PAGES)) || path.startsWith(KEPT_FILES)) {
    event.respondWith(fetchAndKeep(request).catch(() =>
      caches.match(request, { ignoreVary: true }).then((hit) =>
        hit || (request.mode === "navigate" ? caches.match("/offline/") : Response.error()))));
    return;
  }
  if (request.mode === "navigate") {
    // Network first for pages, so data is fresh; the offline page when there is none.
    event.respondWith(fetch(request).catch(() => caches.match(request).then((hit) => hit || caches.match("/offline/"))));
    return;
  }
  event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
});
