/**
 * Line numbers for SLO-file messages. js-yaml keeps no positions for values, so errors find the key's line in
 * the text instead: good enough for the small, hand-written files these are.
 */

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * 1-based line of the first `key:` at or after line `fromLine` (1-based), in block (`key: 1`) or flow
 * (`{a: 1, key: 2}`) style; undefined when not found. The key must not be preceded by a word character, so
 * `ttft_ms` does not match inside `p90_ttft_ms`.
 */
export function lineOf(text: string, key: string, fromLine = 1): number | undefined {
  const re = new RegExp(`(^|[\\s{,\\-])["']?${escape(key)}["']?\\s*:`)
  const lines = text.split(/\r?\n/)
  for (let i = Math.max(0, fromLine - 1); i < lines.length; i++) {
    // A comment is not a key.
    const code = lines[i].replace(/\s#.*$/, '')
    if (!code.trimStart().startsWith('#') && re.test(code)) return i + 1
  }
  return undefined
}

/** `file:line` when the key's line is known, else `file`. */
export function where(text: string, file: string, key: string, fromLine?: number): string {
  const line = lineOf(text, key, fromLine)
  return line ? `${file}:${line}` : file
}
