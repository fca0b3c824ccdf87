import assert from 'node:assert/strict'
import { connect, type AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createListener, type Listener } from '../../src/server/listener.js'

/** Raw bytes in, everything the server writes until it closes the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let answer = ''
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk)).on('close', () => resolve(answer)).on('error', reject)
  })
}

describe('listener: requests node:http cannot parse', () => {
  let server: Listener
  let port = 0
  before(async () => {
    server = createListener(null, (_req, res) => res.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  test('a malformed request is a JSON 400 and the connection is closed', async () => {
    const answer = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n')
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/)
    assert.match(answer, /Connection: close/)
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { error: 'bad_request', code: 'ERR_BAD_REQUEST', message: 'malformed request' })
  })

  test('headers over node\'s limit are a JSON 431', async () => {
    const answer = await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    assert.match(answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/)
    assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error, 'request_header_fields_too_large')
  })
})
