/**
 * Pure: the warning for a round whose streams mostly arrived whole, or undefined.
 *
 * A server streams tokens as it makes them, so a stream of two or more content chunks is read in several pieces. When
 * its first and last content chunk come in the same read, something on the way (a proxy with response buffering:
 * nginx's default `proxy_buffering on`, an API gateway) held the stream back and let it go at the end. TTFT then
 * equals the latency and ITL is ≈ 0: they measure the proxy, and a cold/warm comparison of TTFT means nothing.
 * One such stream can be chance (a short answer written at once); half of them cannot.
 */
export function bufferedStreamsWarning(concurrency: number, round: number, streams: {oneRead: number; multiChunk: number}): string | undefined {
  const {oneRead, multiChunk} = streams
  if (multiChunk === 0 || oneRead < multiChunk / 2) return undefined
  return (
    `Concurrency ${concurrency} round ${round}: ${oneRead} of ${multiChunk} streams arrived whole, in one read (first token = last token): ` +
    'something between the client and the model server buffers the response, so TTFT and ITL measure it, not the model. ' +
    'Turn response buffering off on that route (nginx: proxy_buffering off, or the server sends X-Accel-Buffering: no), or point --endpoint at the server itself.'
  )
}
