// The Redis store on a real 3-master Cluster and behind a real Sentinel, each made of private
// redis-server processes (so nothing shared is touched); the same conformance suite runs on both.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisStore } from '../../../src/session/store/redis.js'
import { freePort, redisServerSkip, startPrivateRedis, stopProcess } from '../../helpers/services.js'
import { runStoreConformance } from './conformance.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-topologies-'))
const children: ChildProcess[] = []
after(async () => {
  await Promise.all(children.map(stopProcess))
  rmSync(dir, { recursive: true, force: true })
})
const skip = async () => redisServerSkip

/** Three masters splitting the 16384 slots; resolves once every node reports cluster_state:ok. */
async function startCluster(): Promise<string[]> {
  const ports = await distinctPorts(6)
  const [nodePorts, busPorts] = [ports.slice(0, 3), ports.slice(3)]
  const started = await Promise.all(
    nodePorts.map((port, i) =>
      startPrivateRedis(port, ['--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir]),
    ),
  )
  children.push(...started)
  const clients = nodePorts.map((port) => new Redis(port, '127.0.0.1'))
  try {
    await Promise.all(
      clients.map((client, i) => {
        const slots = Array.from({ length: 16384 }, (_, slot) => slot).filter((slot) => slot % 3 === i)
        return client.call('CLUSTER', 'ADDSLOTS', ...slots.map(String))
      }),
    )
    for (const [i, port] of nodePorts.entries()) if (i > 0) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port), String(busPorts[i]))
    for (let attempt = 0; ; attempt++) {
      const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO') as Promise<string>))
      if (infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:3'))) break
      if (attempt > 100) throw new Error(`cluster did not form:\n${infos.join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    clients.forEach((client) => client.disconnect())
  }
  return nodePorts.map((port) => `127.0.0.1:${port}`)
}

/** A password-protected master and one Sentinel (same password, as most charts set it up). */
async function startSentinel(): Promise<{ name: string; nodes: string[]; password: string }> {
  const [masterPort, sentinelPort] = await distinctPorts(2)
  const password = 'sentinel-test-pw'
  children.push(await startPrivateRedis(masterPort!, ['--requirepass', password]))
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(conf, `sentinel monitor gh-master 127.0.0.1 ${masterPort} 1\nsentinel auth-pass gh-master ${password}\nrequirepass ${password}\n`)
  children.push(await startPrivateRedis(sentinelPort!, [conf, '--sentinel']))
  return { name: 'gh-master', nodes: [`127.0.0.1:${sentinelPort}`], password }
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

let cluster: Promise<string[]> | undefined
runStoreConformance('redis cluster', async () => createRedisStore({ prefix: 'gh-cluster:', cluster: await (cluster ??= startCluster()) }), { skip, shared: true })

let sentinel: Promise<{ name: string; nodes: string[]; password: string }> | undefined
runStoreConformance('redis sentinel', async () => createRedisStore({ prefix: 'gh-sentinel:', sentinel: await (sentinel ??= startSentinel()) }), { skip, shared: true })
