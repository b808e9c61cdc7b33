/**
 * Pure: how many worker threads carry a level's measured HTTP path when --workers is not given.
 *
 * Measured on one core against a fast local target (npm run bench (a) and (b)): one thread of the plain
 * transport carries ≈ 47–51 k non-streaming req/s or ≈ 890–960 k streamed chunks/s, far above what a real server at
 * hundreds of streams produces (1 000 streams × 100 tok/s = 100 k chunks/s); the threaded transport costs ≈ 40 %
 * more CPU per request (messages both ways). So one thread is the default, and a level is split only where spare
 * cores exist and the level is large enough for one event loop's pauses (a garbage collection stops every stream
 * it carries) to reach many first tokens at once: half the cores at most, one thread per 512 streams.
 */
export function defaultWorkers(cores: number, concurrency: number): number {
  if (cores < 4 || concurrency < 512) return 1
  return Math.max(1, Math.min(Math.floor(cores / 2), Math.ceil(concurrency / 512)))
}

/** Upper bound of --workers: more threads than this only add messages. */
export const MAX_WORKERS = 64
