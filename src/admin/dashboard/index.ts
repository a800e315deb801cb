/**
 * The admin dashboard: a page served by the Worker itself that charts the live event stream.
 *
 * @module
 */

export { DASHBOARD_CSP, dashboardSection } from './dashboard.ts'
