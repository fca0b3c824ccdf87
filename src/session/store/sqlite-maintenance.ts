import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * The SQLite store's maintenance thread: its own connection to the file, on a worker thread at a
 * lower CPU priority (nice), so neither the deletion of expired sessions nor WAL checkpoints
 * (page copies and fsync) ever run on the event loop that serves requests.
 *
 * - Deleting a random expired row dirties about three pages (table and two random-order indexes)
 *   that the commit appends to the WAL and a checkpoint copies back, with an fsync: ~75 µs a row
 *   with checkpoints every 1,000 pages, ~18 µs with them every ~16,000 (a page dirtied by many
 *   batches is copied back once). On the event loop that meant 30–74 ms stalls and, paced to
 *   leave requests 80 % of the loop, ~1,200 rows/s.
 * - The gateway's own connection does no automatic checkpoint while this thread runs (a commit
 *   of a login must not copy back 16,000 pages); this thread checkpoints (PASSIVE: never waits
 *   for readers or writers) every CHECKPOINT_EVERY_MS (few fsyncs: the gateway's own writes
 *   are small), and at CHECKPOINT_PAGES after its own commits. If the thread dies, the
 *   connection gets its automatic checkpoints back.
 * - nice 19: the kernel runs this thread only with what the request path leaves over (CFS weight
 *   15 against 1024 at nice 0); an idle gateway gives it a whole core. Measured (bench/scale.ts,
 *   one core for gateway + upstream, saturated by wrk -c50): at nice 19 the cleanup progresses at
 *   ~250–550 rows/s and the gateway keeps its throughput; at nice 10, ~1,500 rows/s for −14–18 %
 *   throughput. Idle, ~14,000–18,000 rows/s either way: 1,000,000 expired sessions in 55–70 s.
 */
const NICE = 19
const CHECKPOINT_EVERY_MS = 10_000
const CHECKPOINT_PAGES = 16_000
/** Pages (-KiB) of page cache for the thread's connection: a batch never spills mid-transaction. */
const CACHE_KIB = 65_536

// Evaluated as CommonJS in the thread; the driver path is resolved here, so any cwd works.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
try {
  // On Linux a nice value is per thread: lower this one only.
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())
  require('node:os').setPriority(tid, workerData.nice)
} catch {}
const Database = require(workerData.driver)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = NORMAL')
db.pragma('cache_size = -' + workerData.cacheKib)
db.pragma('wal_autocheckpoint = ' + workerData.checkpointPages)
const removeExpired = db.prepare('DELETE FROM gatehouse_sessions WHERE k IN (SELECT k FROM gatehouse_sessions WHERE expires_at <= ? LIMIT ?)')
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)') } catch {} }
const timer = setInterval(checkpoint, workerData.checkpointMs)
parentPort.on('message', (message) => {
  if (message.close) {
    clearInterval(timer)
    checkpoint()
    db.close()
    parentPort.close()
    return
  }
  try {
    parentPort.postMessage({ seq: message.seq, removed: removeExpired.run(message.now, message.batchSize).changes })
  } catch (error) {
    parentPort.postMessage({ seq: message.seq, error: String(error && error.message) })
  }
})
parentPort.postMessage({ ready: true })
`

export interface Maintenance {
  /** Resolves once the thread has its connection open; false when it could not start. */
  readonly ready: Promise<boolean>
  readonly alive: () => boolean
  removeExpired(now: number, batchSize: number): Promise<number>
  close(): Promise<void>
}

/** Starts the thread for `path`; `onDeath` runs once if it stops other than by `close()`. */
export function startMaintenance(path: string, onDeath: () => void): Maintenance {
  const worker = new Worker(THREAD, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), nice: NICE, checkpointMs: CHECKPOINT_EVERY_MS, checkpointPages: CHECKPOINT_PAGES, cacheKib: CACHE_KIB },
  })
  worker.unref()
  let alive = true
  let closing = false
  let seq = 0
  const pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>()
  let markReady!: (ok: boolean) => void
  const ready = new Promise<boolean>((resolve) => (markReady = resolve))
  const die = (error: Error) => {
    if (!alive) return
    alive = false
    markReady(false)
    for (const { reject } of pending.values()) reject(error)
    pending.clear()
    if (!closing) onDeath()
  }
  worker.on('message', (message: { ready?: true; seq?: number; removed?: number; error?: string }) => {
    if (message.ready) return markReady(true)
    const waiter = pending.get(message.seq!)
    pending.delete(message.seq!)
    if (pending.size === 0) worker.unref()
    if (message.error !== undefined) waiter?.reject(new Error(message.error))
    else waiter?.resolve(message.removed!)
  })
  worker.on('error', die)
  worker.on('exit', () => die(new Error('the SQLite maintenance thread exited')))
  return {
    ready,
    alive: () => alive,
    removeExpired: (now, batchSize) =>
      new Promise<number>((resolve, reject) => {
        if (!alive) return reject(new Error('the SQLite maintenance thread is not running'))
        pending.set(++seq, { resolve, reject })
        worker.ref() // an answer awaited keeps the process alive, an idle thread does not
        worker.postMessage({ seq, now, batchSize })
      }),
    close: async () => {
      closing = true
      if (!alive) return
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.ref()
      worker.postMessage({ close: true })
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))])
      clearTimeout(timer)
      if (alive) await worker.terminate()
    },
  }
}
