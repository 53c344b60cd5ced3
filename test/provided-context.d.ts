// What test/global-setup.ts hands to the tests and to the Workers pool's bindings.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    localServicesUrl: string;
    /** A second database and mail catcher, for tests that must not share their data. */
    isolatedDatabaseUrl: string;
    isolatedServicesUrl: string;
    jwtPrivateKeys: string;
    hashSecret: string;
  }
}

export {};
