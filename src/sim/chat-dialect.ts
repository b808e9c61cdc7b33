import {completionBody, DONE_EVENT, errorEventFrame, StreamFrames, timingsObject, usageObject, varietyKey} from './chunks.js'
import {parseCompletionBody, type SimApi, type SimRequest} from './protocol.js'
import type {RunWriter, SimDialect} from './request-run.js'

/**
 * POST /v1/chat/completions and /v1/completions in vLLM's shapes (chunks.ts), with the usage variants of
 * `usageStyle`. `nextSeq` numbers the ids; chat and completions share one sequence, as vLLM's request ids do.
 */
export function chatDialect(api: SimApi, nextSeq: () => number): SimDialect<SimRequest> {
  return {
    errorTypes: {tooLarge: 'BadRequestError', unknownModel: 'NotFoundError'},
    parse: (raw) => parseCompletionBody(api, raw),
    refuse: (r, opts) => {
      if (!opts.rejectStreamOptions || !r.hasStreamOptions) return undefined
      return {status: 400, message: "1 validation error: stream_options: Extra inputs are not permitted (this server does not accept stream_options; send the request without it)", type: 'BadRequestError', param: 'stream_options'}
    },
    writer: (r, opts): RunWriter => {
      const seq = nextSeq()
      const id = `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-sim${seq.toString(16).padStart(8, '0')}`
      const created = Math.floor(Date.now() / 1000)
      const frames = new StreamFrames(api, id, created, opts.model, opts.shapeVariety ? varietyKey(seq) : undefined)
      const style = opts.usageStyle
      return {
        opening: () => undefined,
        beforeFirst: () => frames.roleFrame() ?? '',
        token: (word) => frames.token(word),
        // The last content frame plus, by usage style, the usage/finish frame; sim_timing rides in the final JSON frame.
        last: (word, {finishReason, usage: u}, timing) => {
          const simTiming = {sim_timing: timing}
          if (style === 'llamacpp') {
            return frames.token(word) + frames.finishFrame(finishReason, {usage: usageObject(u, style), timings: timingsObject(u), ...simTiming}) + DONE_EVENT
          }
          if (style === 'openai' && r.includeUsage) {
            return frames.lastToken(word, finishReason) + frames.usageFrame(usageObject(u, style), simTiming) + DONE_EVENT
          }
          return frames.lastToken(word, finishReason, simTiming) + DONE_EVENT
        },
        garbage: () => frames.garbageFrame(),
        errorEvent: (message) => errorEventFrame(message) + DONE_EVENT,
        body: (text, {finishReason, usage: u}) => JSON.stringify(completionBody({
          api, id, created, model: opts.model, text, finishReason,
          usage: style === 'none' ? undefined : usageObject(u, style),
          timings: style === 'llamacpp' ? timingsObject(u) : undefined,
        })),
      }
    },
  }
}
