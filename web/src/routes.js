import { loginPage } from './pages/login.js';
import { overviewPage } from './pages/overview.js';
import { reportsPage, reportPage, reportFormPage } from './pages/reports.js';
import { sourcesPage, sourcePage, alertsPage } from './pages/sources.js';
import { intelPage, collectionPage } from './pages/intel.js';
import { casesPage, casePage, caseFormPage, countermeasuresPage } from './pages/cases.js';
import { authorizationsPage, authorizationPage, authorizationFormPage } from './pages/monitoring.js';
import { auditPage } from './pages/audit.js';
import { settingsPage } from './pages/settings.js';

export const routes = [
  [/^\/login$/, loginPage],
  [/^\/?$/, overviewPage],
  [/^\/overview$/, overviewPage],
  [/^\/reports$/, reportsPage],
  [/^\/reports\/new$/, reportFormPage],
  [/^\/reports\/(\d+)$/, reportPage],
  [/^\/reports\/(\d+)\/update$/, reportFormPage],
  [/^\/sources$/, sourcesPage],
  [/^\/sources\/([^/]+)$/, sourcePage],
  [/^\/alerts$/, alertsPage],
  [/^\/intel$/, intelPage],
  [/^\/intel\/([^/]+)$/, collectionPage],
  [/^\/cases$/, casesPage],
  [/^\/cases\/new$/, caseFormPage],
  [/^\/cases\/(\d+)$/, casePage],
  [/^\/countermeasures$/, countermeasuresPage],
  [/^\/monitoring$/, authorizationsPage],
  [/^\/monitoring\/new$/, authorizationFormPage],
  [/^\/monitoring\/(\d+)$/, authorizationPage],
  [/^\/audit$/, auditPage],
  [/^\/settings$/, settingsPage],
];
