/** Reports over the ledger, for the CLI and the HTTP API (docs/ledger.md "Reports"). */
export {
  MAX_SHARE_ROWS,
  REPORT_CONTENT_TYPES,
  REPORT_NAMES,
  ReportQueryError,
  buildReport,
  parseReportTime,
  renderReport,
  reportQuery,
  type Report,
  type ReportFormat,
  type ReportName,
  type ReportQuery,
} from './reports.js'
