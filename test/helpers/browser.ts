import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = 'test-artifacts'

/** Skip message outside CI when Debian's chromium is missing; under CI=true that is a failure. */
export function browserSkip(): false | string {
  if (existsSync(CHROMIUM)) return false
  if (process.env.CI) throw new Error(`${CHROMIUM} not found: CI=true, so this is a failure (.ci/run installs the chromium package)`)
  return `${CHROMIUM} not found (apt-get install chromium); skipped outside CI`
}

/** Headless Debian Chromium with a fresh profile (Playwright's own temp dir); *.gatehouse.test resolves to 127.0.0.1. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.gatehouse.test 127.0.0.1',
    ],
  })
}

export const shot = (name: string) => join(ARTIFACTS, `${name}.png`)
