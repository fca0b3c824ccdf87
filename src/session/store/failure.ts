import { GatehouseError, StoreUnavailable } from '../../errors.js'
import type { StorageKind } from './store.js'

/**
 * What a backend throws when a call fails: its own typed errors (a bad cursor is a 400) as they
 * are, anything from the driver (connection, timeout, I/O) as StoreUnavailable, so it fails closed.
 */
export function storeFailure(kind: StorageKind, error: unknown): GatehouseError {
  return error instanceof GatehouseError ? error : new StoreUnavailable(`session store (${kind}) failed`, { cause: error })
}

/** Runs a backend call, turning driver failures into StoreUnavailable. */
export async function storeCall<T>(kind: StorageKind, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw storeFailure(kind, error)
  }
}
