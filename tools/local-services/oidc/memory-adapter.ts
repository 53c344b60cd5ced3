// Where the local provider keeps its state (interactions, sessions, grants, codes): in this process's memory, as
// fits a provider that lives as long as `npm run dev` or a test run. Expired entries are dropped as they are read.
import type { Adapter, AdapterPayload } from "oidc-provider";

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

/** One store per kind of model, as oidc-provider asks for them by name. */
export function memoryAdapter(): (name: string) => Adapter {
  const entries = new Map<string, Entry>();
  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt > Date.now()) return entry.payload;
    entries.delete(key);
    return undefined;
  };
  const firstWhere = (name: string, matches: (payload: AdapterPayload) => boolean) => {
    for (const key of entries.keys()) {
      const payload = key.startsWith(`${name}:`) ? live(key) : undefined;
      if (payload && matches(payload)) return payload;
    }
    return undefined;
  };
  return (name) => ({
    upsert: async (id, payload, expiresIn) => {
      entries.set(`${name}:${id}`, { payload, expiresAt: Date.now() + (expiresIn ?? 3600) * 1000 });
    },
    find: async (id) => live(`${name}:${id}`),
    findByUid: async (uid) => firstWhere(name, (payload) => payload.uid === uid),
    findByUserCode: async (userCode) => firstWhere(name, (payload) => payload.userCode === userCode),
    consume: async (id) => {
      const payload = live(`${name}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    destroy: async (id) => {
      entries.delete(`${name}:${id}`);
    },
    revokeByGrantId: async (grantId) => {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
    },
  });
}
