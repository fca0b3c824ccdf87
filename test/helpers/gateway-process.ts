// A gateway in its own process, configured by the JSON in $GATEHOUSE_TEST_CONFIG; prints
// `LISTENING <url>` once it serves. Used by tests that need several gateway processes.
import { parseConfig } from '../../src/config/load.js'
import { startGateway } from '../../src/server/start.js'

const config = parseConfig(JSON.parse(process.env.GATEHOUSE_TEST_CONFIG!), process.env)
const gateway = await startGateway(config, {}, { handleSignals: true })
process.stdout.write(`LISTENING ${gateway.url}\n`)
