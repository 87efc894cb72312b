// Shared by the demo pages; loaded before the kit (module scripts run in document
// order), so the swarm starts with the hub and room from the address: ?hub=…&room=…
const params = new URLSearchParams(location.search)
const swarm = document.querySelector('p2p-swarm')
for (const name of ['hub', 'room']) {
  if (params.has(name)) swarm.setAttribute(name, params.get(name))
}
// Links to the other demos keep the address's hub and room, so they meet on the same hub.
for (const link of document.querySelectorAll('a[data-demo]')) link.search = location.search
