import type {RequestRecord} from '../record/record.js'
import type {Slo} from '../slo/slo.js'
import type {RoundSummary} from '../summary/round-summary.js'
import {LineReader} from './line-reader.js'
import {csvLines, REQUEST_CSV_COLUMNS, requestCsvValues, requestJsonElement, requestRow, ROUND_JSON_FRAMING, roundJsonHead} from './round-json.js'
import {AtomicFileWriter, type JsonlAppender, type LineLocation} from './write.js'

/**
 * The per-request round outputs (concurrency_C_round_R.json's `requests`, requests_cC_rR.csv) of a large round,
 * written without holding the round's records or rows in memory.
 *
 * Where the rows come from: requests.jsonl already holds every record, written as it finished. Rather than keep a
 * second copy (in memory, or a row spool on disk), only each record's byte location in requests.jsonl is kept
 * (12 bytes per request, {@link RoundLineIndex}), and at round end the lines are read back in plan order and turned
 * into rows by the very functions the in-memory writer uses (`requestRow`, `requestCsvValues`). A record survives
 * the JSON round trip unchanged (numbers print in round-trip form), so the files are the same bytes as before, and
 * the run's hot path does no extra work. Records measured by an earlier invocation (--resume) are earlier lines of
 * the same file, located by the resume state.
 */

/**
 * What the run does with each finished record: append it to requests.jsonl and note where it went. The client
 * warm-up uses this same function (on the null device), so the runner's hot call into it is already optimized for it.
 */
export function recordWriter(appender: JsonlAppender, lines: RoundLineIndex): (record: RequestRecord) => void {
  return (record) => lines.note(record, appender.write(record))
}

/** One round's line locations by plan index (offset −1: not written). */
interface RoundLines {
  level: number
  round: number
  offset: Float64Array
  length: Uint32Array
}

/** Where each record of the rounds in progress sits in requests.jsonl, by (level, round) and plan index. */
export class RoundLineIndex {
  private readonly rounds = new Map<string, RoundLines>()
  /** The round noted last: records come round by round, so the map is rarely consulted. */
  private last: RoundLines | undefined

  /** `size`: planned requests per round (every plan index is below it). */
  constructor(private readonly size: number) {}

  note(record: Pick<RequestRecord, 'level' | 'round' | 'index'>, at: LineLocation): void {
    let round = this.last
    if (!round || round.level !== record.level || round.round !== record.round) {
      const key = `${record.level}/${record.round}`
      round = this.rounds.get(key)
      if (!round) this.rounds.set(key, (round = {level: record.level, round: record.round, offset: new Float64Array(this.size).fill(-1), length: new Uint32Array(this.size)}))
      this.last = round
    }
    round.offset[record.index] = at.offset
    round.length[record.index] = at.length
  }

  /** The round's locations (undefined for an index not written this invocation); forgets them. */
  take(level: number, round: number): (index: number) => LineLocation | undefined {
    const key = `${level}/${round}`
    const found = this.rounds.get(key)
    this.rounds.delete(key)
    if (found === this.last) this.last = undefined
    if (!found) return () => undefined
    return (index) => (found.offset[index] >= 0 ? {offset: found.offset[index], length: found.length[index]} : undefined)
  }
}

/**
 * A round's finished records in plan order, read back from `jsonlFile` at `located` (flush the appender first), or
 * for a resumed run at `earlier` (an earlier invocation's lines of the same file). Indices without a location were
 * not finished and are skipped. (Both lookups are made here, not in a closure of the caller's: the client warm-up
 * rehearses this code, and a locator closure from another place in the run would be new to it.)
 */
export async function* recordsInPlanOrder(
  jsonlFile: string,
  size: number,
  located: (index: number) => LineLocation | undefined,
  earlier?: {location(index: number): LineLocation | undefined},
): AsyncGenerator<RequestRecord> {
  let reader: LineReader | undefined
  try {
    for (let index = 0; index < size; index++) {
      const at = earlier?.location(index) ?? located(index)
      if (!at) continue
      reader ??= await LineReader.open(jsonlFile)
      yield JSON.parse(await reader.read(at)) as RequestRecord
    }
  } finally {
    await reader?.close()
  }
}

/** Rows per write: big enough to amortise the stream calls, small enough to stay a few hundred KB. */
const ROWS_PER_WRITE = 256

export interface RoundFiles {
  jsonFile: string
  csvFile: string
  /** The run's configuration block (concurrency and round are added from the summary). */
  configuration: Record<string, unknown>
  summary: RoundSummary
  slo?: Slo
  /** The round's records in plan order (see {@link recordsInPlanOrder}). */
  records: AsyncIterable<RequestRecord>
}

/**
 * Writes the round JSON and the per-request CSV in one pass over `records`: the same bytes as
 * `writeJson(jsonFile, roundJson(…))` and `writeFileAtomic(csvFile, requestsCsv(…))`, each to a temp file renamed
 * into place only when complete (an interrupted write leaves the previous file, or none).
 */
export async function writeRoundFiles(f: RoundFiles): Promise<void> {
  const json = new AtomicFileWriter(f.jsonFile)
  const csv = new AtomicFileWriter(f.csvFile)
  try {
    await json.write(roundJsonHead(f.configuration, f.summary))
    let jsonPiece = ''
    let csvRows: unknown[][] = [[...REQUEST_CSV_COLUMNS]]
    let count = 0
    const flush = async () => {
      await json.write(jsonPiece)
      await csv.write(csvLines(csvRows))
      jsonPiece = ''
      csvRows = []
    }
    for await (const record of f.records) {
      const row = requestRow(record, f.slo)
      jsonPiece += (count === 0 ? ROUND_JSON_FRAMING.open : ROUND_JSON_FRAMING.between) + requestJsonElement(row)
      csvRows.push(requestCsvValues(record, f.slo, row))
      if (++count % ROWS_PER_WRITE === 0) await flush()
    }
    jsonPiece += count === 0 ? ROUND_JSON_FRAMING.empty : ROUND_JSON_FRAMING.close
    await flush()
    await json.commit()
    await csv.commit()
  } catch (error) {
    await Promise.all([json.abort(), csv.abort()])
    throw error
  }
}
