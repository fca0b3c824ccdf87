import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { ConfigInvalid } from '../errors.js'
import { formatPath, substituteEnv } from './env.js'
import { configSchema, type Config } from './schema.js'

/** Validates an already-parsed document; throws ConfigInvalid listing every problem. */
export function parseConfig(document: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const substituted = substituteEnv(document ?? {}, env)
  const result = configSchema.safeParse(substituted.value)
  const problems = [...substituted.problems]
  if (!result.success) problems.push(...formatIssues(result.error.issues))
  if (problems.length > 0 || !result.success) throw new ConfigInvalid(dedupe(problems))
  return deepFreeze(result.data)
}

/** Reads YAML text; syntax errors are reported with line numbers, never a stack trace. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigInvalid(doc.errors.map((error) => `(yaml): ${error.message.split('\n')[0]}`))
  }
  return parseConfig(doc.toJS(), env)
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message
    throw new ConfigInvalid([`(file): cannot read ${file}: ${reason}`])
  }
  return parseConfigText(text, env)
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown key`)
    } else if (issue.code === 'invalid_union' && issue.errors.some((branch) => depth(branch) > 0)) {
      // A branch that matched the shape and failed deeper says more than "expected one of".
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a))
      lines.push(...formatIssues(best.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }))))
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`)
    }
  }
  return lines
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length))
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines)]
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}
