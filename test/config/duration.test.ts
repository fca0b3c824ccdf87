import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseDuration } from '../../src/config/duration.js'

test('durations in Kibana\'s <count>[ms|s|m|h|d|w|M|Y] format and plain seconds', () => {
  const cases: [unknown, number | undefined][] = [
    ['250ms', 250], ['10s', 10_000], ['30m', 1_800_000], ['8h', 28_800_000], ['7d', 604_800_000], ['1w', 604_800_000],
    ['1M', 30 * 86_400_000], ['1Y', 365 * 86_400_000], [90, 90_000], ['90', 90_000], ['1.5h', 5_400_000], [0, 0],
    ['soon', undefined], ['10 minutes', undefined], ['-5s', undefined], [-1, undefined], [true, undefined], [null, undefined], ['5x', undefined],
  ]
  for (const [input, expected] of cases) assert.equal(parseDuration(input), expected, JSON.stringify(input))
})
