/** `-c FILE`, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml (the contract's order). */
export function resolveConfigPath(flag: string | undefined): string {
  return flag ?? process.env.GATEHOUSE_CONFIG ?? './gatehouse.yaml'
}

