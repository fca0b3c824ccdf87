// A raw TCP relay in Node to the upstream: no HTTP parsing, no auth. Not a gateway: it shows how
// much of a Node proxy's cost is HTTP handling (parsers, message objects) rather than moving bytes.
// Prints {"port": N} on stdout once it listens on 127.0.0.1.
import { connect, createServer, type AddressInfo } from 'node:net'

const target = process.env.UPSTREAM
if (!target || !target.startsWith('http://127.0.0.1:')) throw new Error('UPSTREAM must be http://127.0.0.1:<port>')
const upstreamPort = Number(new URL(target).port)

const server = createServer((client) => {
  const upstream = connect(upstreamPort, '127.0.0.1')
  client.pipe(upstream)
  upstream.pipe(client)
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
