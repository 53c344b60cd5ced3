// The last 30 days on the users page: sign-ups, sign-ins and refused sign-ins per day, drawn by the console as SVG
// (no library, nothing from another origin), so a spike of refused sign-ins shows at a glance; the same numbers in
// a table beneath it, for whoever cannot see the picture.
import { type DailyCount, read } from "../api.ts";
import { fill, h, svg } from "../dom.ts";
import { adminApi } from "../session.ts";
import { loading, problem, table } from "./parts.ts";

const DAYS = 30;
const WIDTH = 720;
const HEIGHT = 160;
/** Room for the scale's labels on the left and the days' under the plot. */
const LEFT = 36;
const BOTTOM = 20;

type Measure = "signed_in" | "signed_up" | "refused";

/** Each line: what it counts, in words, and its class (a colour, and a dash of its own for who cannot tell colours apart). */
const SERIES: { measure: Measure; label: string }[] = [
  { measure: "signed_in", label: "Sign-ins" },
  { measure: "signed_up", label: "Sign-ups" },
  { measure: "refused", label: "Refused sign-ins" },
];

const dayName = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const dayOf = (entry: DailyCount) => dayName.format(new Date(`${entry.day}T00:00:00Z`));

/** Where a day's count sits in the plot. */
function place(days: DailyCount[], top: number) {
  const step = (WIDTH - LEFT - 8) / Math.max(1, days.length - 1);
  return (index: number, count: number) => ({ x: LEFT + index * step, y: 8 + (HEIGHT - BOTTOM - 8) * (1 - count / top) });
}

function line(days: DailyCount[], top: number, { measure, label }: (typeof SERIES)[number]): SVGGElement {
  const at = place(days, top);
  const points = days.map((entry, index) => at(index, entry[measure]));
  return svg(
    "g",
    { class: `series series-${measure}` },
    svg("polyline", { points: points.map(({ x, y }) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ") }),
    ...days.map((entry, index) => {
      const { x, y } = points[index] ?? { x: 0, y: 0 };
      return svg(
        "circle",
        { cx: x.toFixed(1), cy: y.toFixed(1), r: 3 },
        svg("title", {}, `${dayOf(entry)}: ${entry[measure]} ${label.toLowerCase()}`),
      );
    }),
  );
}

/** The scale (nothing, and the highest count), and the first and the last day. */
function axes(days: DailyCount[], top: number): SVGGElement {
  const base = HEIGHT - BOTTOM;
  const first = days[0];
  const last = days.at(-1);
  return svg(
    "g",
    { class: "axes" },
    svg("line", { x1: LEFT, y1: base, x2: WIDTH - 8, y2: base }),
    svg("text", { x: LEFT - 6, y: 14, "text-anchor": "end" }, String(top)),
    svg("text", { x: LEFT - 6, y: base, "text-anchor": "end" }, "0"),
    first && svg("text", { x: LEFT, y: HEIGHT - 4 }, dayOf(first)),
    last && svg("text", { x: WIDTH - 8, y: HEIGHT - 4, "text-anchor": "end" }, dayOf(last)),
  );
}

/** The picture's words: each line's total, and the day most sign-ins were refused. */
function summary(days: DailyCount[]): string {
  const total = (measure: Measure) => days.reduce((sum, entry) => sum + entry[measure], 0);
  const worst = days.reduce<DailyCount | undefined>((most, entry) => (entry.refused > (most?.refused ?? 0) ? entry : most), undefined);
  const totals = SERIES.map(({ measure, label }) => `${total(measure)} ${label.toLowerCase()}`).join(", ");
  return `The last ${days.length} days: ${totals}${worst ? `; the most refused on ${dayOf(worst)} (${worst.refused})` : ""}.`;
}

function chart(days: DailyCount[]): Node[] {
  const top = Math.max(1, ...days.flatMap((entry) => SERIES.map(({ measure }) => entry[measure])));
  const words = summary(days);
  return [
    h("ul", { class: "legend" }, ...SERIES.map(({ measure, label }) => h("li", { class: `key series-${measure}` }, label))),
    svg(
      "svg",
      { class: "activity", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": words },
      axes(days, top),
      ...SERIES.map((series) => line(days, top, series)),
    ),
    h("p", { class: "hint" }, words, " Days in UTC."),
    h(
      "details",
      {},
      h("summary", {}, "The numbers by day"),
      table<DailyCount>(
        "Sign-ups, sign-ins and refused sign-ins by day",
        [
          { label: "Day", cell: (entry) => entry.day },
          ...SERIES.map(({ measure, label }) => ({ label, cell: (entry: DailyCount) => entry[measure] })),
        ],
        days,
      ),
    ),
  ];
}

/** The panel, filled once the counts arrive (its own request: the users list does not wait for it). */
export function activityPanel(signal: AbortSignal): HTMLElement {
  const body = h("div", { "aria-live": "polite" }, loading("Loading the last 30 days…"));
  void read(adminApi.GET("/events/daily", { params: { query: { days: DAYS } }, signal })).then(
    (days) => {
      if (!signal.aborted) fill(body, ...chart(days));
    },
    (error: unknown) => {
      if (!signal.aborted) fill(body, problem(error));
    },
  );
  return h("section", { class: "panel", "aria-labelledby": "activity-title" }, h("h2", { id: "activity-title" }, "The last 30 days"), body);
}
