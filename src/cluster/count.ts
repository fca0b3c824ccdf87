import { availableParallelism } from 'node:os'

/** `workers` as configured → how many processes to run (`auto`: one per core the process may use). */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? Math.max(1, availableParallelism()) : workers
}
