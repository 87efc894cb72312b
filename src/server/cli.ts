#!/usr/bin/env node
/**
 * `p2p-elements <command>`: the Node side of the kit. Each command is one entry
 * of `COMMANDS`, so adding one (the mirror bot) touches nothing else here.
 */
import {parseArgs} from 'node:util'
import {HUB_VERSION, checkHubOptions, createHub} from './hub.js'
import type {HubOptions} from './hub.js'
import {checkInteger} from '../core/check.js'
import {DEFAULT_TURN_TTL, checkIceOptions, type IceOptions} from './ice.js'
import {MIRROR_USAGE, MirrorUsageError} from './mirror-usage.js'

interface Command {
  summary: string
  usage: string
  run(args: string[]): Promise<void>
}

class UsageError extends Error {}

/** The hub's numeric flags, each the option of the same name in HubOptions. */
const HUB_FLAGS = {
  'rate-limit': 'rateLimit',
  burst: 'burst',
  'max-body-size': 'maxBodySize',
  'max-channels': 'maxChannels',
  'max-subscribers': 'maxSubscribers',
  'max-streams-per-client': 'maxStreamsPerClient',
  'heartbeat-interval': 'heartbeatInterval',
} as const satisfies Record<string, keyof HubOptions>

const HUB_USAGE = `Usage: p2p-elements hub [options]

Starts the signalling hub (signalhub protocol).

Options:
  --port N                    port to listen on; 0 picks a free one (default 9000)
  --host H                    address to bind (default 127.0.0.1, loopback only)
  --cors a,b                  origins allowed to use the hub, or * (default *)
  --rate-limit N              POSTs per second per client, 0 for none (default 50)
  --burst N                   POSTs a client may send back to back (default 2 × rate limit)
  --max-body-size N           largest POST body in bytes (default 65536)
  --max-channels N            most channels one event stream may name (default 64)
  --max-subscribers N         most event streams at once (default 10000)
  --max-streams-per-client N  most event streams one address may hold (default 100)
  --heartbeat-interval N      milliseconds between heartbeats (default 30000)
  --stun URL                  a STUN server for GET /v1/ice (repeat, or a,b); stun: URLs
  --turn URL                  a TURN server for GET /v1/ice (repeat, or a,b); turn: or turns: URLs
  --turn-secret S             coturn's static-auth-secret, to mint TURN credentials
                              (or the P2P_TURN_SECRET environment variable, which ps does not show)
  --turn-ttl N                seconds a minted TURN credential lives, 60 to 604800 (default 86400)
  --redis URL                 share channels with the other hubs of a fleet through this Redis
                              (redis://host:port; or the P2P_HUB_REDIS environment variable);
                              needs the @redis/client package (docs/hub-fleet.md)
  --json                      log lines as JSON objects (listening; the backplane up or degraded)
  -h, --help                  show this help`

/** A flag's number; its range is checked where the option's is (checkHubOptions), under the flag's name. */
function number(value: string): number {
  // Number('') and Number(' ') are 0: an empty flag is not a zero.
  return value.trim() === '' ? Number.NaN : Number(value)
}

async function runHub(args: string[]): Promise<void> {
  const {values} = parseArgs({
    args,
    strict: true,
    options: {
      port: {type: 'string'},
      host: {type: 'string'},
      cors: {type: 'string'},
      stun: {type: 'string', multiple: true},
      turn: {type: 'string', multiple: true},
      'turn-secret': {type: 'string'},
      'turn-ttl': {type: 'string'},
      redis: {type: 'string'},
      json: {type: 'boolean'},
      ...Object.fromEntries(Object.keys(HUB_FLAGS).map(flag => [flag, {type: 'string' as const}])),
      help: {type: 'boolean', short: 'h'},
    },
  })
  if (values.help) {
    console.log(HUB_USAGE)
    return
  }
  const options: HubOptions = {}
  const flagOf = new Map<keyof HubOptions, string>([['cors', '--cors']])
  for (const [flag, option] of Object.entries(HUB_FLAGS)) {
    const value = (values as Record<string, string | boolean | undefined>)[flag]
    flagOf.set(option, `--${flag}`)
    if (typeof value === 'string') options[option] = number(value)
  }
  if (values.cors !== undefined) {
    const origins = values.cors.split(',').map(origin => origin.trim()).filter(Boolean)
    options.cors = origins.includes('*') ? '*' : origins
  }
  const ice: IceOptions = {
    stun: values.stun?.flatMap(list => list.split(',')).map(url => url.trim()),
    turn: values.turn?.flatMap(list => list.split(',')).map(url => url.trim()),
    turnSecret: values['turn-secret'] ?? (process.env.P2P_TURN_SECRET || undefined),
    turnTtl: values['turn-ttl'] === undefined ? undefined : number(values['turn-ttl']),
  }
  options.ice = ice
  const iceFlags: Record<keyof IceOptions, string> = {stun: '--stun', turn: '--turn', turnSecret: '--turn-secret', turnTtl: '--turn-ttl'}
  const port = values.port === undefined ? 9000 : number(values.port)
  const host = values.host ?? '127.0.0.1'
  try {
    checkInteger('--port', port, 0, 65535)
    checkIceOptions(ice, option => iceFlags[option])
    checkHubOptions(options, option => flagOf.get(option) ?? option)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }

  const redis = values.redis ?? (process.env.P2P_HUB_REDIS || undefined)
  // A line of the log: text, or with --json one JSON object (`event` and the figures).
  const log = (event: string, text: string, fields: Record<string, unknown> = {}) => {
    console.log(values.json ? JSON.stringify({time: new Date().toISOString(), event, ...fields}) : text)
  }
  if (redis !== undefined) {
    const {redisBackplane} = await import('./backplane.js')
    try {
      options.backplane = await redisBackplane({url: redis})
    } catch (err) {
      throw new UsageError(`--redis: ${(err as Error).message}`)
    }
    // The URL may carry a password: only its host is logged.
    const where = redis.replace(/\/\/[^@/]*@/, '//')
    options.backplane.on('state', (state, err) => {
      log('backplane', `backplane ${where}: ${state}${err ? ` (${err.message})` : ''}`, {state, redis: where, ...err ? {error: err.message} : {}})
    })
  }

  const hub = createHub(options)
  const {url} = await hub.listen(port, host)
  log('listening', `p2p-elements hub listening on ${url}`, {url, version: HUB_VERSION})
  // The URLs only: the secret is never printed.
  const served = [...ice.stun ?? [], ...ice.turn ?? []]
  if (served.length) log('ice', `GET /v1/ice hands out ${served.join(' ')}${ice.turn?.length ? ` (TURN credentials for ${ice.turnTtl ?? DEFAULT_TURN_TTL} s)` : ''}`, {servers: served})

  await new Promise<void>(resolve => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      // A second signal while draining means "now".
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      hub.close().then(resolve, resolve)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** The mirror's code (and through it the Node WebRTC and LevelDB it loads) only when it runs. */
async function runMirror(args: string[]): Promise<void> {
  const {runMirror: run} = await import('./mirror-command.js')
  return run(args)
}

const MIRROR = {summary: 'keep logs available when every browser is closed (alias: bot)', usage: MIRROR_USAGE, run: runMirror}

const COMMANDS: Record<string, Command> = {
  hub: {summary: 'run the signalling hub', usage: HUB_USAGE, run: runHub},
  mirror: MIRROR,
  bot: {...MIRROR, summary: 'the mirror, by swarmbot\'s name'},
}

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map(name => name.length))
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  return `Usage: p2p-elements <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nOptions:\n  -v, --version  print the version\n  -h, --help     show this help\n\nRun "p2p-elements <command> --help" for a command's options.`
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined) {
    console.error(mainUsage())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(mainUsage())
    return 0
  }
  if (name === '--version' || name === '-v') {
    console.log(HUB_VERSION)
    return 0
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    console.error(`p2p-elements: unknown command "${name}"\n\n${mainUsage()}`)
    return 2
  }
  try {
    await command.run(args)
    return 0
  } catch (err) {
    // parseArgs reports unknown or malformed flags with these codes.
    const code = (err as {code?: string}).code
    if (err instanceof UsageError || err instanceof MirrorUsageError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      console.error(`p2p-elements ${name}: ${(err as Error).message}\n\n${command.usage}`)
      return 2
    }
    console.error(`p2p-elements ${name}: ${(err as Error).message}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
