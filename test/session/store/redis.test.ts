import { randomUUID } from 'node:crypto'
import { createRedisStore } from '../../../src/session/store/redis.js'
import { REDIS_URL, redisSkip } from '../../helpers/services.js'
import { runStoreConformance } from './conformance.js'

runStoreConformance('redis', () => createRedisStore({ url: REDIS_URL, prefix: `gh-test-${randomUUID()}:` }), { skip: redisSkip })
