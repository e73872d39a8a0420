// The crew tablet opens without the network: its page and scripts come from the network when
// it answers and from this cache when it does not (a reload or a restart in a dead spot).
// API calls are never cached here; the tablet keeps its own outbox and last known job.

const CACHE = "crew-shell-v2";
const SHELL = ["/crew/", "/crew/index.html", "/crew/crew.js", "/crew/crew.css",
  "/common/api.js", "/common/i18n.js", "/common/socket.js", "/common/triage.js", "/common/base.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const shell = event.request.method === "GET" && url.origin === location.origin
    && (url.pathname.startsWith("/crew/") || url.pathname.startsWith("/common/"));
  if (!shell) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname === "/crew/" ? "/crew/" : event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((hit) => hit || caches.match("/crew/"))),
  );
});
