import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {API_PATHS, apiOfPath, resolveEndpoint, type ResolvedEndpoint} from '../http/endpoint.js'
import {renderCheck, type CheckSources} from '../check/render.js'
import {runCheck, type CheckResult} from '../check/run-check.js'
import {loadEnv} from '../config/secrets.js'
import type {ApiKind} from '../http/transport.js'
import {startSimulator, type Simulator} from '../sim/index.js'

/** `dual-bench check`: flags/.env → runCheck → renderCheck. Exit 0 the test request worked, 1 it did not, 2 bad flags. */
export default class Check extends BaseCommand {
  static override summary = 'Test the connection to an OpenAI-compatible server: model list, one streamed request, and what is wrong if it fails.'

  static override description = `GETs the server's model list, then sends one tiny streamed request the way \`run\` would and shows the models, the model used, TTFT, latency, token counts and the model's reply.
When something fails it says why and what to do: a rejected API key (401/403), a wrong path or model (404, with the models the server has), nothing listening on the port, an unknown host name, an untrusted TLS certificate, a timeout, or a server that does not stream.

Without --endpoint it uses MODEL_URL (and MODEL_NAME, MODEL_KEY) from ./.env, as seed connection tests do, and otherwise the built-in simulator. A base URL such as http://host:8000/v1 is completed with the API path. The API key is never printed.

Exit codes: 0 the test request succeeded; 1 it failed; 2 bad flags.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --endpoint http://localhost:8000/v1/chat/completions',
    '<%= config.bin %> <%= command.id %> --endpoint https://llm.example.com/v1 --api-key "$OPENAI_API_KEY" --model my-model',
    '<%= config.bin %> <%= command.id %> --endpoint http://localhost:8000/v1/responses --json',
    {description: 'Use MODEL_URL, MODEL_KEY and MODEL_NAME from ./.env:', command: '<%= config.bin %> <%= command.id %>'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    endpoint: Flags.string({summary: 'URL of the API (…/v1/chat/completions, …/v1/completions, …/v1/responses) or its base (…/v1). Default: MODEL_URL in ./.env, else the built-in simulator.'}),
    'api-key': Flags.string({summary: 'API key (default: env OPENAI_API_KEY, or OPENAI_API_KEY / MODEL_KEY in ./.env). Never printed.'}),
    model: Flags.string({summary: 'Model to ask (default: MODEL_NAME in ./.env, else the first model the server lists).'}),
    api: Flags.option({summary: 'API spoken by the endpoint (default: from the endpoint path; chat for a base URL).', options: ['chat', 'completions', 'responses'] as const})(),
    insecure: Flags.boolean({summary: 'Do not verify TLS certificates (only for test servers with self-signed certificates).', default: false}),
    timeout: Flags.integer({summary: 'Seconds to wait for each step (model list, test request).', default: 30, min: 1}),
  }

  async run(): Promise<CheckResult> {
    const {flags} = await this.parse(Check)
    const api = flags.api as ApiKind | undefined
    const env = loadEnv()

    let target: ResolvedEndpoint
    let endpointSource: CheckSources['endpoint']
    let sim: Simulator | undefined
    if (flags.endpoint !== undefined) {
      target = resolveEndpoint(flags.endpoint, api)
      endpointSource = 'flag'
    } else if (env.endpoint !== undefined) {
      // loadEnv already turned MODEL_URL into a chat/completions URL; --api may ask for another API at the same base.
      const fromEnv = api !== undefined ? env.endpoint.replace(/\/(chat\/completions|completions)\/?$/, '') : env.endpoint
      target = resolveEndpoint(fromEnv, api ?? apiOfPath(new URL(env.endpoint)), 'MODEL_URL in ./.env')
      endpointSource = 'env'
    } else {
      sim = await startSimulator()
      const running = sim
      this.onCleanup(() => void running.close())
      const kind = api ?? 'chat'
      target = {endpoint: new URL(`/v1${API_PATHS[kind]}`, sim.url), api: kind, completed: false}
      endpointSource = 'simulator'
    }

    const apiKey = flags['api-key'] ?? env.apiKey
    const apiKeySource: CheckSources['apiKey'] = flags['api-key'] ? 'flag' : process.env.OPENAI_API_KEY ? 'env' : env.apiKey ? 'dotenv' : 'none'
    // MODEL_NAME names the model of MODEL_URL's server; the simulator serves only its own.
    const envModel = endpointSource === 'simulator' ? undefined : env.model
    const model = flags.model ?? envModel

    let result: CheckResult
    try {
      result = await runCheck({
        endpoint: target.endpoint,
        api: target.api,
        apiKey,
        model,
        modelSource: flags.model !== undefined ? 'flag' : 'env',
        insecure: flags.insecure,
        timeoutMs: flags.timeout * 1000,
      })
    } finally {
      await sim?.close()
    }

    this.log(renderCheck(result, {endpoint: endpointSource, completed: target.completed, apiKey: apiKeySource}))
    if (!result.ok) {
      // this.exit() throws, so oclif never prints the returned result: print it here for --json.
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(1)
    }
    return result
  }

  /** Our own exit (result already printed) must not be rendered again as an error JSON under --json. */
  override async catch(error: Error & {code?: string; exitCode?: number}): Promise<unknown> {
    if (error.code === 'EEXIT') throw error
    return super.catch(error)
  }
}
