// What test/global-setup.ts hands to the tests and to the Workers pool's bindings.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    localServicesUrl: string;
    /** The local services' OpenID Connect provider (the API's provider "local" in the tests). */
    oidcIssuer: string;
    /** A second database and mail catcher, for tests that must not share their data. */
    isolatedDatabaseUrl: string;
    isolatedServicesUrl: string;
    /** True when the tests run on the PostgreSQL server (TEST_DATABASE_URL), where requests really run at once. */
    postgresServer: boolean;
    jwtPrivateKeys: string;
    hashSecret: string;
  }
}

export {};
