// The mirror command's help and usage error, apart from its code: the CLI lists
// every command's help without loading the mirror (src/server/mirror-command.ts).

export const MIRROR_USAGE = `Usage: p2p-elements mirror --hub URL --dir PATH --room NAME (--log KEY | --file ID | --owner KEY) [options]

Keeps logs and files available when every browser is closed: joins the rooms as
a peer, replicates every listed log live and downloads every listed file into
LevelDB under --dir, and serves them. A restart picks up where it was, with
nothing fetched twice. "bot" is another name for this command.

Options:
  --hub URL        a signalling hub (repeat for several)
  --dir PATH       where the mirror keeps its logs, files and key (created if absent)
  --room NAME      a room to join (repeat for several)
  --log KEY        the address of a log to keep, 64 hex characters (repeat for several)
  --file ID        the id of a file to download and seed, 64 hex (repeat for several)
  --owner KEY      a public key (64 hex) that may add and remove logs to keep by signed
                   {mirror: address} and {unmirror: address} entries in the mirror's own
                   log, whose address is the mirror's key, and files with
                   {mirror: id, kind: 'file'} (repeat for several)
  --max-bytes N    bytes all kept logs and files together may hold (500M, 2GiB…);
                   an owner's request past it is refused, and all stop growing at it
  --max-log-bytes N  bytes one kept log may hold; past it the log stops growing,
                   what it holds stays served
  --max-file-bytes N  bytes one kept file may hold; its download stops there,
                   what it holds stays served
  --json           print each status as a line of JSON, not as text
  --http HOST:PORT answer GET /status (JSON) and GET /metrics (Prometheus text)
                   there; 127.0.0.1 keeps it on this machine
  --no-dht         do not join the browsers' DHT (by default the mirror is a node
                   of it and its rooms are announced there: pages reach it with
                   their hubs down)
  -h, --help       show this help

Status goes to stdout when it changes (at most once a second): per log, its
length and heads beside the most its peers report, bytes, peers and progress;
per file, its chunks and bytes beside its size and the peers that have it.
SIGINT or SIGTERM closes the store cleanly.`

/** Throws this for bad flags: the CLI prints it with the usage and exits with 2. */
export class MirrorUsageError extends Error {}
