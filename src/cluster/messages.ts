/** What a worker tells the primary over the cluster IPC channel (the only message there is). */
export interface WorkerReady {
  gatehouse: 'ready'
  address: string
}

export function isWorkerReady(message: unknown): message is WorkerReady {
  return typeof message === 'object' && message !== null && (message as { gatehouse?: unknown }).gatehouse === 'ready'
}

/** Environment variable carrying a worker's slot (0..N-1); a replacement takes over the slot of the worker it replaces. */
export const SLOT_ENV = 'GATEHOUSE_WORKER_SLOT'
