import { loadConfigFile } from '../config/load.js'
import type { Config } from '../config/schema.js'

/** `-c FILE`, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml (the contract's order). */
export function resolveConfigPath(flag: string | undefined): string {
  return flag ?? process.env.GATEHOUSE_CONFIG ?? './gatehouse.yaml'
}

export function loadConfigFromArgs(flag: string | undefined): { file: string; config: Config } {
  const file = resolveConfigPath(flag)
  return { file, config: loadConfigFile(file) }
}
