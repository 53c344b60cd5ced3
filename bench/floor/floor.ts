// The floor: a Worker that answers at once, started the same way as the API. What it serves per second
// is the runtime's own limit on this machine, the ceiling every endpoint is measured against.
export default {
  fetch: () => new Response("ok"),
} satisfies ExportedHandler;
