#!/usr/bin/env node
/**
 * `p2p-elements <command>`: the Node side of the kit. Each command is one entry
 * of `COMMANDS`, so adding one (the mirror bot) touches nothing else here.
 */
import {parseArgs} from 'node:util'
import {createHub} from './hub.js'
import type {HubOptions} from './hub.js'

interface Command {
  summary: string
  usage: string
  run(args: string[]): Promise<void>
}

class UsageError extends Error {}

const HUB_USAGE = `Usage: p2p-elements hub [options]

Starts the signalling hub (signalhub protocol).

Options:
  --port N              port to listen on; 0 picks a free one (default 9000)
  --host H              address to bind (default 127.0.0.1, loopback only)
  --cors a,b            origins allowed to use the hub, or * (default *)
  --rate-limit N        POSTs per second per client, 0 for none (default 50)
  --max-subscribers N   most event streams at once (default 10000)
  -h, --help            show this help`

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a non-negative number, got "${value}"`)
  return n
}

async function runHub(args: string[]): Promise<void> {
  const {values} = parseArgs({
    args,
    strict: true,
    options: {
      port: {type: 'string'},
      host: {type: 'string'},
      cors: {type: 'string'},
      'rate-limit': {type: 'string'},
      'max-subscribers': {type: 'string'},
      help: {type: 'boolean', short: 'h'},
    },
  })
  if (values.help) {
    console.log(HUB_USAGE)
    return
  }
  const port = number('--port', values.port) ?? 9000
  if (!Number.isInteger(port) || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535`)
  const host = values.host ?? '127.0.0.1'
  const options: HubOptions = {}
  if (values.cors !== undefined) {
    const origins = values.cors.split(',').map(origin => origin.trim()).filter(Boolean)
    options.cors = origins.includes('*') ? '*' : origins
  }
  const rateLimit = number('--rate-limit', values['rate-limit'])
  if (rateLimit !== undefined) options.rateLimit = rateLimit
  const maxSubscribers = number('--max-subscribers', values['max-subscribers'])
  if (maxSubscribers !== undefined) options.maxSubscribers = maxSubscribers

  const hub = createHub(options)
  const {url} = await hub.listen(port, host)
  console.log(`p2p-elements hub listening on ${url}`)

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

const COMMANDS: Record<string, Command> = {
  hub: {summary: 'run the signalling hub', usage: HUB_USAGE, run: runHub},
}

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map(name => name.length))
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  return `Usage: p2p-elements <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "p2p-elements <command> --help" for a command's options.`
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
    if (err instanceof UsageError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      console.error(`p2p-elements ${name}: ${(err as Error).message}\n\n${command.usage}`)
      return 2
    }
    console.error(`p2p-elements ${name}: ${(err as Error).message}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
