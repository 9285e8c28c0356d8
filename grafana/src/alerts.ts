// Grafana alerting provisioning (apiVersion 1): SLO alert rules, a contact point and a notification
// policy, generated from the targets in grafana/slo.yaml. Grafana expands $VAR in provisioning
// files, so every $ of a macro is written $$ here (a test checks none slipped through).
import { DATASOURCE, PLUGIN_VERSION } from './dashboards.js';

export interface SloTargets {
  availability_slo: number;
  latency_p95_target_ms: number;
  cost_spike_factor: number;
  cost_spike_min_usd: number;
  ingest_stall_seconds: number;
}

interface RuleSpec {
  uid: string;
  title: string;
  /** Seconds of data the query looks back over (relativeTimeRange.from). */
  window: number;
  sql: string;
  threshold: number;
  for: string;
  severity: 'page' | 'ticket';
  summary: string;
  noDataState?: 'OK' | 'NoData' | 'Alerting';
}

/** Escapes macros for Grafana's env expansion of provisioning files. */
const escapeDollars = (sql: string): string => sql.replace(/\$/g, '$$$$');

function rule(spec: RuleSpec): unknown {
  return {
    uid: spec.uid,
    title: spec.title,
    condition: 'C',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: spec.window, to: 0 },
        datasourceUid: DATASOURCE.uid,
        model: { refId: 'A', datasource: DATASOURCE, editorType: 'sql', rawSql: escapeDollars(spec.sql), format: 1, queryType: 'table', pluginVersion: PLUGIN_VERSION, intervalMs: 60000, maxDataPoints: 43200 },
      },
      {
        refId: 'C',
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: '__expr__',
        model: { refId: 'C', type: 'threshold', expression: 'A', datasource: { type: '__expr__', uid: '__expr__' }, conditions: [{ evaluator: { type: 'gt', params: [spec.threshold] } }] },
      },
    ],
    noDataState: spec.noDataState ?? 'OK',
    execErrState: 'Error',
    for: spec.for,
    labels: { severity: spec.severity, team: 'tracehouse' },
    annotations: { summary: spec.summary },
  };
}

/**
 * Error-budget burn rate over a long and a short window ending at the evaluation time, from one
 * scan of spans_minute; least() of the two implements "both windows burn" (SRE workbook).
 */
function burnRateSql(longMinutes: number, shortMinutes: number, slo: number): string {
  const short = `minute > $__toTime - INTERVAL ${shortMinutes} MINUTE`;
  return `SELECT tenant_id, least(sumIf(errors, ${short}) / greatest(sumIf(calls, ${short}), 1), sum(errors) / greatest(sum(calls), 1)) / ${(1 - slo).toFixed(6)} AS burn_rate
FROM telemetry.spans_minute
WHERE minute > $__toTime - INTERVAL ${longMinutes} MINUTE AND minute <= $__toTime
GROUP BY tenant_id`;
}

export function alertRules(t: SloTargets): unknown {
  const pct = `${(t.availability_slo * 100).toFixed(2)}%`;
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'tracehouse-slo',
        folder: 'Tracehouse',
        interval: '1m',
        rules: [
          rule({ uid: 'tracehouse-slo-burn-1h', title: `Availability SLO ${pct}: fast burn (14.4x over 1h and 5m)`, window: 3600, sql: burnRateSql(60, 5, t.availability_slo), threshold: 14.4, for: '2m', severity: 'page', summary: 'Tenant {{ $labels.tenant_id }} burns its error budget at {{ $values.A }}x: 2% of the monthly budget in 1h.' }),
          rule({ uid: 'tracehouse-slo-burn-6h', title: `Availability SLO ${pct}: slow burn (6x over 6h and 30m)`, window: 21600, sql: burnRateSql(360, 30, t.availability_slo), threshold: 6, for: '15m', severity: 'page', summary: 'Tenant {{ $labels.tenant_id }} burns its error budget at {{ $values.A }}x: 5% of the monthly budget in 6h.' }),
          rule({ uid: 'tracehouse-slo-burn-3d', title: `Availability SLO ${pct}: budget burn (1x over 3d and 6h)`, window: 259200, sql: burnRateSql(4320, 360, t.availability_slo), threshold: 1, for: '1h', severity: 'ticket', summary: 'Tenant {{ $labels.tenant_id }} is on course to spend its whole error budget.' }),
          rule({
            uid: 'tracehouse-latency-p95',
            title: `p95 latency over ${t.latency_p95_target_ms} ms for 10m`,
            window: 600,
            sql: `SELECT service_name, arrayElement(quantilesTimingMerge(0.5, 0.9, 0.95, 0.99)(latency_ms), 3) AS p95_ms
FROM telemetry.spans_minute
WHERE minute > $__toTime - INTERVAL 5 MINUTE AND minute <= $__toTime
GROUP BY service_name`,
            threshold: t.latency_p95_target_ms,
            for: '10m',
            severity: 'page',
            summary: 'Service {{ $labels.service_name }} p95 latency is {{ $values.A }} ms.',
          }),
          rule({
            uid: 'tracehouse-cost-spike',
            title: `LLM cost per minute over ${t.cost_spike_factor}x the 7-day baseline`,
            window: 604800,
            sql: `SELECT tenant_id, (sumIf(cost, minute > $__toTime - INTERVAL 5 MINUTE) / 5) / greatest(sumIf(cost, minute <= $__toTime - INTERVAL 5 MINUTE) / (7 * 1440 - 5), 0.000001) AS spike_ratio
FROM (SELECT tenant_id, minute, toFloat64(sum(cost_usd)) AS cost FROM telemetry.llm_minute WHERE minute > $__toTime - INTERVAL 7 DAY AND minute <= $__toTime GROUP BY tenant_id, minute)
GROUP BY tenant_id
HAVING sumIf(cost, minute > $__toTime - INTERVAL 5 MINUTE) >= ${t.cost_spike_min_usd}`,
            threshold: t.cost_spike_factor,
            for: '5m',
            severity: 'page',
            summary: 'Tenant {{ $labels.tenant_id }} spends {{ $values.A }}x its 7-day average per minute on LLM calls.',
          }),
          rule({
            uid: 'tracehouse-ingest-stalled',
            title: `Ingestion stalled: no data for ${Math.round(t.ingest_stall_seconds / 60)}m`,
            window: 86400,
            sql: `SELECT tenant_id, dateDiff('second', max(newest_ingested_at), $__toTime) AS seconds_since_ingest
FROM telemetry.ingest_watermark
GROUP BY tenant_id
HAVING max(newest_ingested_at) > $__toTime - INTERVAL 1 DAY`,
            threshold: t.ingest_stall_seconds,
            for: '0s',
            severity: 'page',
            summary: 'No span from tenant {{ $labels.tenant_id }} stored for {{ $values.A }} s.',
            noDataState: 'Alerting',
          }),
        ],
      },
    ],
  };
}

export const CONTACT_POINTS = {
  apiVersion: 1,
  contactPoints: [
    {
      orgId: 1,
      name: 'tracehouse-oncall',
      // Expanded by Grafana from its environment (docker-compose.yml passes it through).
      receivers: [{ uid: 'tracehouse-webhook', type: 'webhook', settings: { url: '${TRACEHOUSE_ALERT_WEBHOOK_URL}', httpMethod: 'POST' }, disableResolveMessage: false }],
    },
  ],
};

export const NOTIFICATION_POLICIES = {
  apiVersion: 1,
  policies: [
    {
      orgId: 1,
      receiver: 'tracehouse-oncall',
      group_by: ['grafana_folder', 'alertname', 'tenant_id'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { receiver: 'tracehouse-oncall', object_matchers: [['severity', '=', 'page']], group_wait: '30s', repeat_interval: '1h' },
        { receiver: 'tracehouse-oncall', object_matchers: [['severity', '=', 'ticket']], group_wait: '5m', repeat_interval: '12h' },
      ],
    },
  ],
};
