/**
 * `${VAR}` and `${VAR:-default}` substitution inside string values, after YAML parsing so a
 * value can never change the document's structure. `$${` escapes a literal `${`.
 */
const PLACEHOLDER = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export interface SubstitutionResult {
  value: unknown
  problems: string[]
}

export function substituteEnv(input: unknown, env: NodeJS.ProcessEnv): SubstitutionResult {
  const problems: string[] = []
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      return value.replace(PLACEHOLDER, (whole, escaped: string | undefined, name: string, fallback: string | undefined) => {
        if (escaped) return whole.slice(1)
        const found = env[name]
        if (found !== undefined && found !== '') return found
        if (fallback !== undefined) return fallback
        problems.push(`${formatPath(path)}: environment variable ${name} is not set (write \${${name}:-default} for a default)`)
        return ''
      })
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]))
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]))
    }
    return value
  }
  return { value: walk(input, []), problems }
}

/** `['routes', 0, 'path']` → `routes[0].path`; the one spelling every config message uses. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out || '(root)'
}
