import { createMemoryStore } from '../../../src/session/store/memory.js'
import { runStoreConformance } from './conformance.js'

runStoreConformance('memory', async () => createMemoryStore())
