import { describeError, type Logger } from "../log.ts";

/**
 * A response body that pulls its text from `chunks` as the client reads it: nothing is read ahead of the reader, so a
 * long export costs memory for one chunk at a time. A failure midway (the database gone) ends the body with an error,
 * which the client sees as a broken download rather than a short file, and is logged.
 */
export function textStream(chunks: AsyncIterable<string>, log: Logger): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        log.error("a streamed answer failed midway", { error: describeError(error) });
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
