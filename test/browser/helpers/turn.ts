// The loopback coturns the test runner started (scripts/turn-process.js), and
// what getStats() says about the candidate pair a connection chose.

export interface TurnServer {
  urls: string
  username: string
  credential: string
}

interface TurnServers {
  /** `lt-cred-mech` with a fixed user and a fresh password per run. */
  longTerm: TurnServer
  /** `use-auth-secret`: credentials minted as docs/turn.md shows, one valid, one expired a minute ago. */
  rest: {valid: TurnServer, expired: TurnServer}
  /** A hub process started with `--turn <rest's URL> --turn-secret <its secret>`: it hands out credentials on GET /v1/ice. */
  iceHub: string
}

declare global {
  interface Window {
    __P2P_TURN__: TurnServers | {error: string}
  }
}

function servers(): TurnServers {
  const turn = window.__P2P_TURN__
  if (!turn) throw new Error('no TURN server: the test runner should start one')
  if ('error' in turn) throw new Error(turn.error)
  return turn
}

/** The run's long-term-credential TURN server; throws why when it did not start. */
export function turnServer(): TurnServer {
  return {...servers().longTerm}
}

/** The URL of the hub that mints credentials for the REST API TURN server. */
export function iceHub(): string {
  return servers().iceHub
}

/** The run's REST API TURN server with a valid and an expired credential. */
export function restTurnServer(): {valid: TurnServer, expired: TurnServer} {
  const {valid, expired} = servers().rest
  return {valid: {...valid}, expired: {...expired}}
}

/** A candidate as RTCStatsReport describes it (`local-candidate` / `remote-candidate`). */
export interface CandidateStats {
  candidateType: RTCIceCandidateType
  address?: string
  port?: number
  protocol?: string
  relayProtocol?: string
  url?: string
}

/**
 * The candidate pair the connection is using: the transport's
 * selectedCandidatePairId, else (older engines) the nominated, succeeded pair.
 */
export async function selectedCandidates(pc: RTCPeerConnection): Promise<{local: CandidateStats, remote: CandidateStats}> {
  const stats = await pc.getStats()
  const all = [...stats.values()] as Array<Record<string, unknown> & {id: string, type: string}>
  const transport = all.find(s => s.type === 'transport' && s.selectedCandidatePairId)
  const pair = transport
    ? stats.get(transport.selectedCandidatePairId as string)
    : all.find(s => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
  if (!pair) throw new Error('no selected candidate pair')
  const local = stats.get(pair.localCandidateId)
  const remote = stats.get(pair.remoteCandidateId)
  if (!local || !remote) throw new Error('the selected pair names a candidate the report lacks')
  return {local, remote}
}
