/** Counts of requests served, so tests can assert how many SQL round trips a use case costs. */
export interface StatsSnapshot {
  /** By endpoint, "METHOD /path". */
  requests: Record<string, number>;
  /** SQL requests by the user name in their Neon-Connection-String. */
  sql_by_user: Record<string, number>;
}

export interface Stats {
  countRequest(endpoint: string): void;
  countSqlUser(user: string): void;
  snapshot(): StatsSnapshot;
  reset(): void;
}

export function createStats(): Stats {
  let requests = new Map<string, number>();
  let sqlByUser = new Map<string, number>();
  const increment = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    countRequest: (endpoint) => increment(requests, endpoint),
    countSqlUser: (user) => increment(sqlByUser, user),
    snapshot: () => ({ requests: Object.fromEntries(requests), sql_by_user: Object.fromEntries(sqlByUser) }),
    reset: () => {
      requests = new Map();
      sqlByUser = new Map();
    },
  };
}
