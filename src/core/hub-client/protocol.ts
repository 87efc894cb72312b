/**
 * The signalhub HTTP protocol as both ends of this kit speak it: URL shapes,
 * name rules and size limits. The hub (Node) and the client (any runtime)
 * import these so the two sides cannot drift apart.
 */
import {P2PError} from '../errors.js'

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

/** The JSON body every error answer of the hub carries. */
export interface HubErrorBody {
  error: string
  message: string
}

// An error answer is a few hundred bytes; a hub that sends more is not one of ours.
const MAX_ERROR_BODY = 4096

async function readSome(res: Response, limit: number): Promise<string> {
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    while (text.length < limit) {
      const {done, value} = await reader.read()
      if (done) return text
      text += decoder.decode(value, {stream: true})
    }
    await reader.cancel()
  } catch {
    // A body that breaks off still leaves the status to report.
  }
  return text.slice(0, limit)
}

/**
 * The typed error for a hub's refusal: RATE_LIMITED for 429, else
 * HUB_REJECTED; the message names the hub, the status and the hub's own code
 * (our hub answers `{error, message}`; signalhub answers nothing), and the
 * cause carries them as fields.
 */
export async function errorFromResponse(hub: string, res: Response): Promise<P2PError> {
  const text = await readSome(res, MAX_ERROR_BODY)
  let code: string | undefined
  let detail: string | undefined
  try {
    const body = JSON.parse(text) as Partial<HubErrorBody>
    if (typeof body.error === 'string') code = body.error
    if (typeof body.message === 'string') detail = body.message
  } catch {
    // Not one of our hubs; the status says enough.
  }
  const retryAfter = res.headers.get('retry-after')
  const cause = {hub, status: res.status, code, retryAfter}
  const summary = `${hub} answered ${res.status}${detail ? ` (${detail})` : code ? ` (${code})` : ''}`
  if (res.status === 429) {
    return new P2PError('ERR_RATE_LIMITED', `${summary}${retryAfter ? `; retry after ${retryAfter} s` : ''}`, {cause})
  }
  return new P2PError('ERR_HUB_REJECTED', summary, {cause})
}
