import {createRequire} from 'node:module'

/** The tool version from package.json, recorded in every output so results say where they came from. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as {version: string}).version
