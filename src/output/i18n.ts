/**
 * Report labels in Chinese, keyed by the English label, using the seed's terms (指标/轮次, 并发5-第1轮, 平均值,
 * 中位数, 最小值, 最大值, 标准差, 吞吐量 …). Plain data so the terminal table and the CSV can reuse it: the keys
 * are the exact labels of output/summary-rows.ts and summary/round-summary.ts plus the report's own.
 * A label without an entry is shown in English.
 */

export const LANGS = ['en', 'zh'] as const
export type Lang = (typeof LANGS)[number]

export const ZH: Readonly<Record<string, string>> = {
  // metrics_summary.csv layout (output/csv.ts, output/summary-rows.ts)
  'Metric/Round': '指标/轮次',
  'Error rate (%)': '错误率 (%)',
  'Retried requests': '重试请求数',
  'Round value (start→end scrape)': '整轮值（开始→结束抓取）',
  Avg: '平均值',
  P50: '中位数',
  P90: 'P90',
  P95: 'P95',
  P99: 'P99',
  Min: '最小值',
  Max: '最大值',
  Stddev: '标准差',
  'TTFT (ms)': 'TTFT (ms)',
  'ITL (ms)': 'ITL (ms)',
  'Latency (ms)': '总延迟 (ms)',
  'Chunk gap (ms)': '分块间隔 (ms)',
  'Input tokens': '输入 tokens',
  'Output tokens': '输出 tokens',
  'Cached tokens': '缓存 tokens',
  'Output speed (tok/s/req)': '单请求输出速度 (tokens/s)',
  Throughput: '吞吐量',
  'Total requests': '总请求数',
  'Successful requests': '成功请求数',
  'Failed requests': '失败请求数',
  'Duration (s)': '测试时长 (秒)',
  'Output tokens/s': 'Token 吞吐量 (tokens/s)',
  'Requests/s': 'Request 吞吐量 (requests/s)',
  'Input tokens/s': '输入 Token 吞吐量 (tokens/s)',
  'Total tokens/s': '总 Token 吞吐量 (tokens/s)',
  Goodput: 'Goodput (有效吞吐量)',
  'SLO-met requests': '满足 SLO 的请求数',
  'SLO-met requests (%)': '满足 SLO 的请求占比 (%)',
  'SLO-met output tokens': '满足 SLO 的 tokens',
  'SLO-met output tokens (%)': '满足 SLO 的 tokens 占比 (%)',
  'Goodput (tokens/s)': 'Goodput (tokens/s)',
  'Goodput (requests/s)': 'Goodput (requests/s)',
  Cache: '缓存',
  'Prompt tokens (reporting requests)': '提示 tokens（上报缓存的请求）',
  'Cached share (%)': '缓存命中占比 (%)',
  // report sections
  'dual-bench report': 'dual-bench 测试报告',
  'Run directory': '结果目录',
  Started: '开始时间',
  Ended: '结束时间',
  'not finished': '未完成',
  Warnings: '警告',
  'BUILT-IN SIMULATOR': '内置模拟器',
  'These numbers were measured against the built-in simulator, not a model server.':
    '以下数据是在内置模拟器上测得的，不代表真实模型服务器的性能。',
  'Cold → warm': '冷启动 → 缓存命中',
  'Round 1 is cold (cache miss), round 2 sends the same requests again (cache hit). The factor with each pair is how many times better round 2 is: round 1 / round 2 for times, round 2 / round 1 for throughput.':
    '第 1 轮为冷启动（缓存未命中），第 2 轮重复发送相同请求（缓存命中）。每组数值所附倍数为第 2 轮的提升倍数：时间类指标为 第 1 轮 / 第 2 轮，吞吐量为 第 2 轮 / 第 1 轮。',
  Concurrency: '并发',
  'TTFT avg (ms)': 'TTFT 平均值 (ms)',
  'TTFT P50 (ms)': 'TTFT 中位数 (ms)',
  'TTFT P99 (ms)': 'TTFT P99 (ms)',
  'Latency P50 (ms)': '总延迟中位数 (ms)',
  'Cached share': '缓存命中占比',
  'Speed-up': '加速比',
  Charts: '图表',
  'Results by level and round': '各并发、各轮次指标',
  Prometheus: 'Prometheus 指标',
  'Round value': '整轮值',
  Failures: '失败请求',
  'No request failed.': '没有失败的请求。',
  Category: '类别',
  Count: '数量',
  Example: '示例',
  Request: '请求',
  Sample: '样本',
  Prompt: 'Prompt',
  Error: '错误',
  'more not shown': '条未显示',
  Configuration: '测试配置',
  Setting: '配置项',
  Value: '值',
  Dataset: '数据集',
  Samples: '样本数',
  Salts: '冷启动盐值',
  SLO: 'SLO',
  'no SLO given': '未指定 SLO',
  'Tool version': '工具版本',
  'not reported': '未上报',
  // charts
  'TTFT P50 / P99 by concurrency': '各并发下的 TTFT 中位数 / P99',
  'Latency P50 / P99 by concurrency': '各并发下的总延迟中位数 / P99',
  'Token throughput and goodput by concurrency': '各并发下的 Token 吞吐量与 Goodput',
  'Request throughput and goodput by concurrency': '各并发下的 Request 吞吐量与 Goodput',
  'per round': '各轮次',
  'Increase during the round': '本轮增量',
  'Value at round end': '本轮结束时的值',
  'Mean of the round': '本轮平均值',
  'Ratio of the round': '本轮比率',
  'Round 1 (cold)': '第 1 轮（冷）',
  'Round 2 (warm)': '第 2 轮（热）',
  Round: '轮次',
  Statistic: '统计值',
  Series: '指标',
  'Goodput tokens/s': 'Goodput (tokens/s)',
  'Goodput requests/s': 'Goodput (requests/s)',
  'tokens/s': 'tokens/s',
  'requests/s': 'requests/s',
  ms: 'ms',
}

/** The label in `lang` (English when there is no translation). */
export function t(label: string, lang: Lang): string {
  return lang === 'zh' ? (ZH[label] ?? label) : label
}

/** Column label of one (level, round): the CSV's "Concurrency 5 Round 1", the seed's "并发5-第1轮". */
export function roundColumnLabel(concurrency: number, round: number, lang: Lang): string {
  return lang === 'zh' ? `并发${concurrency}-第${round}轮` : `Concurrency ${concurrency} Round ${round}`
}

/** "Round 1 (cold)" / "Round 2 (warm)" / "Round 3". */
export function roundName(round: number, lang: Lang): string {
  if (round === 1) return t('Round 1 (cold)', lang)
  if (round === 2) return t('Round 2 (warm)', lang)
  return lang === 'zh' ? `第 ${round} 轮` : `Round ${round}`
}
