/** A migration problem a developer must fix; its message names the file and needs no stack trace. */
export class MigrationError extends Error {
  override name = "MigrationError";
}
