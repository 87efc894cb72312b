/**
 * What a hub's refusal says: the typed error for an answer that is not 2xx,
 * read from its status and body. Only a refused broadcast (hub-client.ts) or a
 * refused stream over fetch (sse-fetch.ts, itself loaded on demand) reads one,
 * so it loads by `import()` then rather than on every page.
 */
import {P2PError} from '../errors.js'

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
