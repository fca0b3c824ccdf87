// Runs the CLI from source, as bin/gatehouse.js runs it from dist/.
import { main } from '../../src/main.js'

process.exitCode = await main(process.argv.slice(2))
