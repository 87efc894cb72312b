/**
 * The signalhub HTTP protocol as both ends of this kit speak it: URL shapes,
 * name rules and size limits. The hub (Node) and the client (any runtime)
 * import these so the two sides cannot drift apart.
 */

/** Largest POST body a hub accepts, as signalhub's own limit. */
export const MAX_BODY_BYTES = 64 * 1024

/** Longest app or channel name, counted in UTF-16 code units after percent-decoding. */
export const MAX_NAME_LENGTH = 128

// C0 and C1 controls: no legitimate name needs them, and they are what log
// injection and header smuggling attempts are made of.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/

/** True for a usable app or channel name (already percent-decoded). */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !CONTROL_CHARS.test(name)
}

/**
 * Turns what a user typed (`localhost:9000`, `https://hub.example/`) into the
 * base URL requests are built on: a scheme is added when missing, as signalhub's
 * client does, and trailing slashes go.
 */
export function normalizeHubUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, '')
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`
}

// Each name is encoded on its own so that a comma inside a name cannot split
// it into two channels: only the separators between names stay raw.
export function streamUrl(hub: string, app: string, channels: readonly string[]): string {
  return `${hub}/v1/${encodeURIComponent(app)}/${channels.map(encodeURIComponent).join(',')}`
}

export function broadcastUrl(hub: string, app: string, channel: string): string {
  return streamUrl(hub, app, [channel])
}
