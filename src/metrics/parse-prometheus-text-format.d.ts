/**
 * Types for `parse-prometheus-text-format` (the package ships none). Only what `parse.ts` uses:
 * the library returns every number as a string and groups lines into families.
 */
declare module 'parse-prometheus-text-format' {
  interface ParsedSample {
    value?: string
    labels?: Record<string, string>
    timestamp_ms?: string
    count?: string
    sum?: string
    buckets?: Record<string, string>
    quantiles?: Record<string, string>
  }
  interface ParsedFamily {
    name: string
    help: string
    type: string
    metrics: ParsedSample[]
  }
  function parsePrometheusTextFormat(text: string): ParsedFamily[]
  export default parsePrometheusTextFormat
}
