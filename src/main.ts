/** Process entry: hand argv to the CLI; the launcher in bin/ sets the exit code. */
export { main } from './cli/index.js'
