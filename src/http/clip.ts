/** Server error messages are trimmed to this many characters in records and errors. */
export const ERROR_MESSAGE_CHARS = 300

/** Pure: `text` on one line (whitespace runs collapsed), at most `n` characters, an ellipsis marking a cut. */
export function clip(text: string, n = ERROR_MESSAGE_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length <= n ? oneLine : `${oneLine.slice(0, n - 1)}…`
}
