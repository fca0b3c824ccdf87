// `gatehouse <command> --help` / `-h`: usage on stdout, exit 0 (`start --help` used to answer "Unknown option").
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { describe, test } from 'node:test'
import { runCli } from '../helpers/cli.js'

const dir = tmpdir()

describe('gatehouse --help', () => {
  test('--help and -h for every subcommand: its usage on stdout, exit 0, nothing started', async () => {
    // In this process (the help answer returns before any command runs): one child per
    // command would take too long on a busy machine. The real CLI is checked below.
    const { main } = await import('../../src/cli/index.js')
    const capture = async (args: string[]) => {
      let stdout = ''
      let stderr = ''
      const write = { out: process.stdout.write, err: process.stderr.write }
      process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write
      process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write
      try {
        return { code: await main(args), stdout, stderr }
      } finally {
        process.stdout.write = write.out
        process.stderr.write = write.err
      }
    }
    for (const command of ['start', 'demo', 'check-config', 'hash-password', 'keygen', 'token', 'sessions']) {
      for (const flag of ['--help', '-h']) {
        const result = await capture(command === 'sessions' ? [command, 'list', flag] : [command, flag])
        assert.equal(result.code, 0, `${command} ${flag}: ${result.stderr}`)
        assert.match(result.stdout, new RegExp(`^usage: gatehouse ${command}`), `${command} ${flag}`)
        assert.equal(result.stderr, '', `${command} ${flag}`)
      }
    }
    // The real CLI, with a flag before it (`start -c FILE --help` only prints the usage).
    const late = await runCli(['start', '-c', join(dir, 'nope.yaml'), '--help'])
    assert.equal(late.code, 0, late.stderr)
    assert.match(late.stdout, /^usage: gatehouse start/)
    assert.match(late.stdout, /SIGHUP/)
  })
})
