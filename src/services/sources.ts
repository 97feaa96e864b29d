import type { PollerGroup } from '../poller/group.js';
import type { BudgetView, ResourceView } from '../poller/views.js';
import { requireScopes, type Principal } from './principal.js';

/** The poller seen from outside: every polled resource's state and each request budget. Needs `sources:read`. */
export function sourcesStatus(poller: PollerGroup, p: Principal): { resources: ResourceView[]; budgets: BudgetView[] } {
  requireScopes(p, 'sources:read');
  return { resources: poller.describe(), budgets: poller.budgets() };
}
